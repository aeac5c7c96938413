//! A ZAP authenticator as a calloop source (work in progress).

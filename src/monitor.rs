//! Socket monitor events as a calloop source (work in progress).

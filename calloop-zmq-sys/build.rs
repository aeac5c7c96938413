//! Builds libzmq 4.3.5 from `zeromq-src` (with CURVE through the libsodium
//! that `libsodium-sys-stable` built, when the `curve` feature is on), or
//! finds the system's libzmq through pkg-config with `system-libzmq`.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_SYSTEM_LIBZMQ").is_some() {
        link_system();
    } else {
        build_bundled();
    }
}

#[cfg(feature = "system-libzmq")]
fn link_system() {
    match pkg_config::Config::new()
        .atleast_version("4.3")
        .probe("libzmq")
    {
        Ok(lib) => {
            for dir in &lib.include_paths {
                println!("cargo:include={}", dir.display());
            }
            println!("cargo:system=1");
        }
        Err(e) => {
            eprintln!(
                "calloop-zmq-sys: the `system-libzmq` feature needs libzmq >= 4.3 \
                 findable by pkg-config (e.g. Debian's libzmq3-dev): {e}"
            );
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "system-libzmq"))]
fn link_system() {
    unreachable!("CARGO_FEATURE_SYSTEM_LIBZMQ is set only with the feature");
}

fn build_bundled() {
    // libzmq's sources draw compiler warnings that are not ours to fix, and
    // `cc` would relay each one as a Cargo warning on every build of every
    // user. Unless the user set their own flags, silence them.
    if env::var_os("CXXFLAGS").is_none() {
        // SAFETY: the build script is single-threaded here; nothing else
        // reads or writes the environment concurrently.
        unsafe { env::set_var("CXXFLAGS", "-w") };
    }
    let mut build = zeromq_src::Build::new();
    build.enable_draft(env::var_os("CARGO_FEATURE_DRAFT").is_some());
    if env::var_os("CARGO_FEATURE_CURVE").is_some() {
        // libsodium-sys-stable (`links = "sodium"`) tells its direct
        // dependents where it installed the static library and headers.
        let lib = env::var_os("DEP_SODIUM_LIB").map(PathBuf::from);
        let include = env::var_os("DEP_SODIUM_INCLUDE").map(PathBuf::from);
        match (lib, include) {
            (Some(lib), Some(include)) => {
                build.with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)));
            }
            _ => {
                eprintln!(
                    "calloop-zmq-sys: the `curve` feature needs DEP_SODIUM_LIB and \
                     DEP_SODIUM_INCLUDE from libsodium-sys-stable, and they are not set"
                );
                std::process::exit(1);
            }
        }
    } else {
        build.with_libsodium(None);
    }
    build.build();
}

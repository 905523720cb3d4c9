//! The integration test binary. Each module says what belongs in it.

// A test binary has no API to keep private: `pub` in its helpers only
// says "shared between test modules".
#![allow(unreachable_pub)]

mod common;
mod suite;

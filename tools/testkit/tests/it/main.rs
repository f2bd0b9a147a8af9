//! testkit's own tests.

mod proxy;

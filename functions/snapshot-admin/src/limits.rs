//! What the admin API accepts at most, and its page sizes.

/// Largest body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const MAX_PAGE: u16 = 100;
pub const DEFAULT_PAGE: u16 = 20;

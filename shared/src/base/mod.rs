//! What every layer shares, and imports nothing else of this crate: the error type and
//! its JSON shape ([`error`]), paging ([`paging`]), the header names the services and
//! the API agree on ([`headers`]), and the request's context ([`caller`]): who asked,
//! from where, under which trace, and what the answer must carry back.

pub mod caller;
pub mod error;
pub mod headers;
pub mod paging;

//! Local development helpers shared by tools/devstack's binaries and tests: `auth`, the
//! stand-in for Supabase Auth (GoTrue) that the `auth-standin` binary serves.

pub mod auth;

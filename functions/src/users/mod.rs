//! Users and their profiles.
//!
//! GET    /me                         own profile, role and permissions
//! GET    /users?page=&pageSize=&search=   users.read; name or email, newest first
//! POST   /users                      users.write; creates the auth user (Auth admin API)
//! GET    /users/{id}                 self, a public profile, or users.read; 5 newest posts
//! PATCH  /users/{id}                 self or users.write; name, bio, website, publicProfile
//! DELETE /users/{id}                 users.delete; not oneself
//! DELETE /me                         oneself, after a recent sign-in or with the password
//! GET    /me/export?part=&page=&pageSize=   a copy of everything they own or wrote (`export`)
//! GET    /me/sessions, DELETE /me/sessions/{id}   own sessions (`sessions`)
//!
//! A private profile of someone else is 404, not 403, so ids cannot be probed.

//! `profiles`: the profile views and edits (GET /me, GET /users, GET and PATCH
//! /users/{id}); `accounts`: creating and deleting accounts through Supabase Auth's
//! admin API, with the undo that keeps a failed create from leaving half a user.

pub(crate) mod accounts;
pub mod export;
mod model;
pub(crate) mod profiles;
pub(crate) mod sessions;

pub use accounts::{create, delete, delete_own};
pub use profiles::{get, list, me, update};

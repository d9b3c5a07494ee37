//! For the fuzzer (`fuzz/fuzz_targets/json_body.rs`): one request body through the JSON
//! reader as every body type the handlers read, with their validators and deserializers.

use lambda_http::Request;
use shared::pipeline::input::json_body;

use crate::{posts, projects, sessions, settings, uploads, users, workspaces};

/// How many of the body types accept the request's body (each either accepts or refuses
/// it with an error; none may panic).
pub fn read_every_body(req: &Request) -> usize {
    [
        json_body::<workspaces::NewWorkspace>(req).is_ok(),
        json_body::<workspaces::NewMember>(req).is_ok(),
        json_body::<projects::NewProject>(req).is_ok(),
        json_body::<projects::ProjectChanges>(req).is_ok(),
        json_body::<sessions::Credentials>(req).is_ok(),
        json_body::<users::accounts::NewUser>(req).is_ok(),
        json_body::<users::profiles::ProfileChanges>(req).is_ok(),
        json_body::<posts::NewPost>(req).is_ok(),
        json_body::<posts::PostChanges>(req).is_ok(),
        json_body::<settings::Settings>(req).is_ok(),
        json_body::<uploads::NewUpload>(req).is_ok(),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}

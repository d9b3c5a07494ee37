//! For the fuzzer (`fuzz/fuzz_targets/json_body.rs`): one request body through the JSON
//! reader as every body type a handler reads (its `Json` or `MaybeJson` extractor), with
//! their validators and deserializers. The list is the route table's: a new route's body
//! type is fuzzed as soon as its handler takes it.

use lambda_http::Request;
use shared::pipeline::contract::{ReadBody, Signature};

use crate::routes;

/// Every route's body reader, once per body type.
pub fn body_readers() -> Vec<ReadBody> {
    let mut seen = Vec::new();
    let mut readers = Vec::new();
    for route in routes::ALL.iter().chain(routes::STREAMING) {
        let mut sig = Signature::default();
        (route.describe)(&mut sig);
        if let (Some(body), Some(read)) = (sig.body, sig.read_body) {
            if !seen.contains(&body) {
                seen.push(body);
                readers.push(read);
            }
        }
    }
    readers
}

/// How many of the body types accept the request's body (each either accepts or refuses
/// it with an error; none may panic).
pub fn read_every_body(req: &Request) -> usize {
    thread_local! {
        static READERS: Vec<ReadBody> = body_readers();
    }
    READERS.with(|readers| readers.iter().filter(|read| read(req)).count())
}

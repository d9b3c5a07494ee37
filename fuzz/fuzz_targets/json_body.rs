//! The JSON body reader: the bytes as a request body (text when UTF-8, else binary, as
//! API Gateway hands it over), read as every body type the handlers read, with their
//! validators, trimming and PATCH semantics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = match std::str::from_utf8(data) {
        Ok(text) => lambda_http::Body::Text(text.to_owned()),
        Err(_) => lambda_http::Body::Binary(data.to_vec()),
    };
    let req = http::Request::builder()
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("request");
    let accepted = functions::fuzzing::read_every_body(&req);
    assert!(accepted <= 11);
});

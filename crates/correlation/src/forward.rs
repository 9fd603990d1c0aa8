//! Forwarding both IDs on a `reqwest` call (feature `reqwest`).

use http::HeaderMap;

use crate::ids::RequestIds;

impl RequestIds {
    /// `builder` with both IDs added as [`RequestIds::apply`] adds them, keeping the
    /// builder's own `baggage` members. A builder whose body is a stream cannot be looked into:
    /// it gets the IDs in place of any `baggage` it had.
    pub fn forward(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some((client, Ok(mut request))) = builder.try_clone().map(|b| b.build_split()) {
            self.apply(request.headers_mut());
            return reqwest::RequestBuilder::from_parts(client, request);
        }
        let mut headers = HeaderMap::new();
        self.apply(&mut headers);
        builder.headers(headers)
    }
}

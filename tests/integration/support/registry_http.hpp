// One HTTP request to a registry under test, through berth's own client (TLS certificates are
// not verified: the tests make their own). Header-only: only the registry tests link the
// client library.
#pragma once

#include <string>
#include <vector>

#include "distribution/client/http.hpp"

namespace berth::test {

inline distribution::HttpResponse registry_call(const std::string& method, const std::string& url,
                                                const std::vector<std::string>& headers = {},
                                                const std::string& body = {}) {
    static distribution::HttpClient http;
    distribution::HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = headers;
    request.body = body;
    request.verify_tls = false;
    return http.perform(request);
}

}  // namespace berth::test

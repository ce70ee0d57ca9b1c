#include "distribution/client/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>

namespace berth::distribution {
namespace {

std::once_flag global_init;
constexpr size_t kErrorBodyLimit = 64 * 1024;

struct Transfer {
    CURL* curl = nullptr;
    const HttpRequest* request = nullptr;
    HttpResponse* response = nullptr;
    bool too_big = false;
    bool aborted = false;
    std::exception_ptr error;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string line(data, size * count);
    if (line.starts_with("HTTP/")) {
        // A new response (after a redirect or 100-continue): start over.
        t->response->headers.clear();
        return size * count;
    }
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.erase(0, 1);
        while (!value.empty() &&
               (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.pop_back();
        t->response->headers.emplace(std::move(name), std::move(value));
    }
    return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->request->on_data && status >= 200 && status < 300) {
        try {
            if (!t->request->on_data(status, data, n)) {
                t->aborted = true;
                return 0;
            }
        } catch (...) {
            t->error = std::current_exception();
            return 0;
        }
        return n;
    }
    size_t limit = (status >= 200 && status < 300) ? t->request->max_body : kErrorBodyLimit;
    if (t->response->body.size() + n > limit) {
        if (status >= 200 && status < 300) {
            t->too_big = true;
            return 0;
        }
        return n;  // the start of an error body is enough
    }
    t->response->body.append(data, n);
    return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    try {
        return t->request->body_source->read(buffer, size * count);
    } catch (...) {
        t->error = std::current_exception();
        return CURL_READFUNC_ABORT;
    }
}

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

struct HttpClient::Share {
    CURLSH* share = nullptr;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Share*>(user)->locks.at(data).lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* user) {
        static_cast<Share*>(user)->locks.at(data).unlock();
    }
};

HttpClient::HttpClient() : share_(std::make_unique<Share>()) {
    std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    share_->share = curl_share_init();
    if (!share_->share) throw Error("curl: cannot create a share handle");
    curl_share_setopt(share_->share, CURLSHOPT_LOCKFUNC, &Share::lock);
    curl_share_setopt(share_->share, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
    curl_share_setopt(share_->share, CURLSHOPT_USERDATA, share_.get());
    curl_share_setopt(share_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
}

HttpClient::~HttpClient() {
    curl_share_cleanup(share_->share);
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
    std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
    if (!curl) throw Error("curl: cannot create a handle");
    CURL* c = curl.get();
    HttpResponse response;
    Transfer t{c, &request, &response, false, false, nullptr};
    char error_buffer[CURL_ERROR_SIZE] = {};

    curl_easy_setopt(c, CURLOPT_SHARE, share_->share);
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 byte/s for a minute) is a broken connection.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    // Layer blobs are large: 512 KiB per receive, not curl's 16 KiB (a third of the
    // syscalls of a pull were recv/poll/write of 16 KiB pieces).
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (request.timeout_seconds > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, request.timeout_seconds);
    if (!request.verify_tls) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());

    curl_slist* raw_headers = nullptr;
    for (const auto& h : request.headers)
        raw_headers = curl_slist_append(raw_headers, h.c_str());
    raw_headers = curl_slist_append(raw_headers, "Expect:");
    std::unique_ptr<curl_slist, ListDeleter> headers(raw_headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    const std::string& method = request.method;
    bool has_source = request.body_source != nullptr;
    if (method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT" || method == "PATCH" || (method == "POST" && has_source)) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        if (method != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
        if (has_source) {
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &t);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                             static_cast<curl_off_t>(request.body_size));
        } else {
            curl_easy_setopt(
                c, CURLOPT_READFUNCTION, +[](char*, size_t, size_t, void*) -> size_t { return 0; });
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(0));
            if (!request.body.empty()) {
                // A buffered body: not an upload after all.
                curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                 static_cast<curl_off_t>(request.body.size()));
            }
        }
    } else if (method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
    } else if (method != "GET") {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    CURLcode rc = curl_easy_perform(c);
    if (t.error) std::rethrow_exception(t.error);
    if (t.too_big)
        throw Error(request.method + " " + request.url + ": response larger than " +
                    std::to_string(request.max_body) + " bytes");
    if (rc != CURLE_OK) {
        std::string why = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
        if (t.aborted) why = "aborted";
        throw TransportError(request.method + " " + request.url + ": " + why);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    char* effective = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
    if (effective) response.url = effective;
    return response;
}

std::optional<std::string> HttpResponse::header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
}

std::string base64_encode(std::string_view data) {
    static constexpr char kTable[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    while (i + 2 < data.size()) {
        uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                     (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
        out += kTable[v >> 18];
        out += kTable[(v >> 12) & 63];
        out += kTable[(v >> 6) & 63];
        out += kTable[v & 63];
        i += 3;
    }
    if (i + 1 == data.size()) {
        uint32_t v = static_cast<uint8_t>(data[i]) << 16;
        out += kTable[v >> 18];
        out += kTable[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == data.size()) {
        uint32_t v =
            (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
        out += kTable[v >> 18];
        out += kTable[(v >> 12) & 63];
        out += kTable[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    auto value = [](char ch) -> int {
        if (ch >= 'A' && ch <= 'Z') return ch - 'A';
        if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9') return ch - '0' + 52;
        if (ch == '+' || ch == '-') return 62;
        if (ch == '/' || ch == '_') return 63;
        return -1;
    };
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char ch : text) {
        if (ch == '=' || ch == '\n' || ch == '\r') continue;
        int v = value(ch);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

std::string url_escape(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : text) {
        auto u = static_cast<unsigned char>(ch);
        if (std::isalnum(u) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += ch;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    return out;
}

}  // namespace berth::distribution

// libcurl, loaded when the first request is made instead of when berth starts. Linked
// normally, libcurl and the ~30 libraries it needs (TLS, Kerberos, LDAP, SSH, IDN, ...; all
// bound at load time) cost every berth command ~6 ms before main, `berth run` and `berth
// ps` included. These are the libcurl functions the client calls, each forwarding to the
// real one found with dlopen/dlsym on first use.
#define CURL_DISABLE_TYPECHECK  // curl_easy_setopt & co. as functions, not checking macros
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <string>

#include "common/error.hpp"

namespace {

struct Curl {
    CURLcode (*global_init)(long);
    CURL* (*easy_init)();
    void (*easy_cleanup)(CURL*);
    CURLcode (*easy_perform)(CURL*);
    CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
    const char* (*easy_strerror)(CURLcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
    CURLSH* (*share_init)();
    CURLSHcode (*share_setopt)(CURLSH*, CURLSHoption, ...);
    CURLSHcode (*share_cleanup)(CURLSH*);
};

template <typename T>
void bind(void* library, T& slot, const char* name) {
    void* symbol = ::dlsym(library, name);
    if (!symbol) throw berth::Error(std::string("libcurl.so.4: no ") + name);
    slot = reinterpret_cast<T>(symbol);
}

const Curl& curl() {
    static const Curl loaded = [] {
        void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!library) throw berth::Error(std::string("cannot load libcurl: ") + ::dlerror());
        Curl c{};
        bind(library, c.global_init, "curl_global_init");
        bind(library, c.easy_init, "curl_easy_init");
        bind(library, c.easy_cleanup, "curl_easy_cleanup");
        bind(library, c.easy_perform, "curl_easy_perform");
        bind(library, c.easy_setopt, "curl_easy_setopt");
        bind(library, c.easy_getinfo, "curl_easy_getinfo");
        bind(library, c.easy_strerror, "curl_easy_strerror");
        bind(library, c.slist_append, "curl_slist_append");
        bind(library, c.slist_free_all, "curl_slist_free_all");
        bind(library, c.share_init, "curl_share_init");
        bind(library, c.share_setopt, "curl_share_setopt");
        bind(library, c.share_cleanup, "curl_share_cleanup");
        return c;
    }();
    return loaded;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
    return curl().global_init(flags);
}

CURL* curl_easy_init() {
    return curl().easy_init();
}

void curl_easy_cleanup(CURL* handle) {
    curl().easy_cleanup(handle);
}

CURLcode curl_easy_perform(CURL* handle) {
    return curl().easy_perform(handle);
}

// The variadic argument's type follows from the option's number, as libcurl reads it.
CURLcode curl_easy_setopt(CURL* handle, CURLoption option, ...) {
    va_list args;
    va_start(args, option);
    CURLcode result;
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        long value = va_arg(args, long);
        result = curl().easy_setopt(handle, option, value);
    } else if (option < CURLOPTTYPE_OFF_T) {
        void* value = va_arg(args, void*);
        result = curl().easy_setopt(handle, option, value);
    } else if (option < CURLOPTTYPE_BLOB) {
        curl_off_t value = va_arg(args, curl_off_t);
        result = curl().easy_setopt(handle, option, value);
    } else {
        void* value = va_arg(args, void*);
        result = curl().easy_setopt(handle, option, value);
    }
    va_end(args);
    return result;
}

CURLcode curl_easy_getinfo(CURL* handle, CURLINFO info, ...) {
    va_list args;
    va_start(args, info);
    void* out = va_arg(args, void*);
    va_end(args);
    return curl().easy_getinfo(handle, info, out);
}

const char* curl_easy_strerror(CURLcode code) {
    return curl().easy_strerror(code);
}

curl_slist* curl_slist_append(curl_slist* list, const char* text) {
    return curl().slist_append(list, text);
}

void curl_slist_free_all(curl_slist* list) {
    curl().slist_free_all(list);
}

CURLSH* curl_share_init() {
    return curl().share_init();
}

CURLSHcode curl_share_setopt(CURLSH* share, CURLSHoption option, ...) {
    va_list args;
    va_start(args, option);
    CURLSHcode result;
    if (option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE) {
        int value = va_arg(args, int);
        result = curl().share_setopt(share, option, value);
    } else {
        void* value = va_arg(args, void*);
        result = curl().share_setopt(share, option, value);
    }
    va_end(args);
    return result;
}

CURLSHcode curl_share_cleanup(CURLSH* share) {
    return curl().share_cleanup(share);
}

}  // extern "C"

// What a build reports while it runs, as BuildKit's progress does: steps (vertices) that
// start, print output, hit the cache and finish. Implementations render them (the CLI's tty
// and plain views, the Docker API's /build stream); calls come from several threads at once.
#pragma once

#include <string>
#include <string_view>

namespace berth::build {

class Progress {
  public:
    virtual ~Progress() = default;
    // A new step; id is unique within the build. name as BuildKit shows it:
    // "[internal] load build definition from Containerfile", "[build 2/4] RUN make".
    virtual void started(int id, const std::string& name) = 0;
    // Output of the step (RUN's stdout and stderr, as it comes).
    virtual void output(int id, std::string_view text) = 0;
    // The step's result came from the cache (it finishes right after).
    virtual void cached(int id) = 0;
    // The end of the step; error empty when it succeeded.
    virtual void finished(int id, const std::string& error) = 0;
    // A line for the user that belongs to no step (a warning, a notice).
    virtual void notice(const std::string& text) = 0;
};

// Reports nothing.
class NoProgress : public Progress {
  public:
    void started(int, const std::string&) override {}
    void output(int, std::string_view) override {}
    void cached(int) override {}
    void finished(int, const std::string&) override {}
    void notice(const std::string&) override {}
};

}  // namespace berth::build

// `berth registry serve|gc`: the registry server's verbs. They run from their own CLI11
// callbacks (and exit there), so they never open berth's image storage.
#pragma once

namespace CLI {
class App;
}

namespace berth::cli {

void add_registry_commands(CLI::App& app);

}  // namespace berth::cli

// Which user namespace this process is in. An unprivileged user's berth works as uid 0 of a
// user namespace of its own (engine/rootless/namespace.hpp); there the engine, the image
// store and the runtime are root-like but cannot do what needs the host's root: cgroups,
// device nodes, trusted.* xattrs.
#pragma once

namespace berth {

// False in a user namespace other than the initial one (whose uid_map is "0 0 4294967295").
bool in_initial_user_namespace();

}  // namespace berth

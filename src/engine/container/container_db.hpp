// The containers table of the state database (<root>/state.db, SQLite WAL, shared with the
// image index). Names are unique by a constraint, so two concurrent `run --name x` cannot
// both win. Used by the CLI and by every monitor.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/container/record.hpp"
#include "image/state_db.hpp"

namespace berth::engine {

// No container by that name or id.
class ContainerNotFound : public Error {
  public:
    using Error::Error;
};

class ContainerDb {
  public:
    explicit ContainerDb(const std::string& path);  // the state.db file
    // On the image index's connection to the same file (berth: one connection to open, not
    // two). Their transactions never nest: neither runs the other's code inside one.
    explicit ContainerDb(image::Database& shared);
    ContainerDb(const ContainerDb&) = delete;
    ContainerDb& operator=(const ContainerDb&) = delete;

    // Throws Error "name already in use" when the name is taken.
    void insert(const ContainerRecord& record);
    [[nodiscard]] std::optional<ContainerRecord> get(const std::string& id);
    // An exact id, an exact name, or a unique id prefix. Throws ContainerNotFound.
    ContainerRecord find(const std::string& text);
    [[nodiscard]] std::vector<ContainerRecord> list();
    void update_state(const std::string& id, const ContainerState& state);
    // Reads the state, lets change() edit it and writes it back in one transaction, so
    // that the CLI (stop sets stopped_by_user) and the monitor (exit codes) never undo each
    // other's fields. Returns the new state; nullopt when the container is gone.
    std::optional<ContainerState> modify_state(const std::string& id,
                                               const std::function<void(ContainerState&)>& change);
    void update_config(const std::string& id, const nlohmann::json& config);
    void rename(const std::string& id, const std::string& name);
    void remove(const std::string& id);
    image::Database& database() { return db_; }

  private:
    std::unique_ptr<image::Database> owned_;
    image::Database& db_;
};

}  // namespace berth::engine

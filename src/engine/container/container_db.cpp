#include "engine/container/container_db.hpp"

namespace berth::engine {
namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  image TEXT NOT NULL,
  image_id TEXT NOT NULL,
  created TEXT NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0,
  pid_start INTEGER NOT NULL DEFAULT 0,
  monitor_pid INTEGER NOT NULL DEFAULT 0,
  monitor_start INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER NOT NULL DEFAULT 0,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '',
  restart_count INTEGER NOT NULL DEFAULT 0,
  stopped_by_user INTEGER NOT NULL DEFAULT 0,
  health TEXT NOT NULL DEFAULT '',
  failing_streak INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
);
)";

constexpr std::string_view kColumns =
    "id, name, image, image_id, created, config, status, pid, pid_start, monitor_pid, "
    "monitor_start, exit_code, oom_killed, started_at, finished_at, restart_count, "
    "stopped_by_user, health, failing_streak, error";

ContainerRecord read_row(image::Statement& st) {
    ContainerRecord r;
    r.id = st.text(0);
    r.name = st.text(1);
    r.image = st.text(2);
    r.image_id = st.text(3);
    r.created = st.text(4);
    r.config = nlohmann::json::parse(st.text(5), nullptr, false);
    ContainerState& s = r.state;
    s.status = parse_status(st.text(6));
    s.pid = st.integer(7);
    s.pid_start = st.integer(8);
    s.monitor_pid = st.integer(9);
    s.monitor_start = st.integer(10);
    s.exit_code = st.integer(11);
    s.oom_killed = st.integer(12) != 0;
    s.started_at = st.text(13);
    s.finished_at = st.text(14);
    s.restart_count = st.integer(15);
    s.stopped_by_user = st.integer(16) != 0;
    s.health = st.text(17);
    s.failing_streak = st.integer(18);
    s.error = st.text(19);
    return r;
}

}  // namespace

std::string to_string(Status status) {
    switch (status) {
        case Status::created:
            return "created";
        case Status::running:
            return "running";
        case Status::paused:
            return "paused";
        case Status::exited:
            return "exited";
        case Status::dead:
            return "dead";
    }
    return "unknown";
}

Status parse_status(const std::string& text) {
    if (text == "running") return Status::running;
    if (text == "paused") return Status::paused;
    if (text == "exited") return Status::exited;
    if (text == "dead") return Status::dead;
    return Status::created;
}

ContainerDb::ContainerDb(const std::string& path)
    : owned_(std::make_unique<image::Database>(path)), db_(*owned_) {
    db_.exec(kSchema);
}

ContainerDb::ContainerDb(image::Database& shared) : db_(shared) {
    db_.exec(kSchema);
}

void ContainerDb::insert(const ContainerRecord& r) {
    image::Statement check = db_.prepare("SELECT id FROM containers WHERE name = ?1");
    check.bind(1, r.name);
    if (check.step())
        throw Error("the container name \"" + r.name + "\" is already in use by container " +
                    check.text(0).substr(0, 12));
    image::Statement st = db_.prepare(
        "INSERT INTO containers (id, name, image, image_id, created, config, status) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.bind(1, r.id).bind(2, r.name).bind(3, r.image).bind(4, r.image_id).bind(5, r.created);
    st.bind(6, r.config.dump()).bind(7, to_string(r.state.status));
    try {
        st.run();
    } catch (const Error&) {
        throw Error("the container name \"" + r.name + "\" is already in use");
    }
}

std::optional<ContainerRecord> ContainerDb::get(const std::string& id) {
    image::Statement st =
        db_.prepare("SELECT " + std::string(kColumns) + " FROM containers WHERE id = ?1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_row(st);
}

ContainerRecord ContainerDb::find(const std::string& text) {
    if (text.empty()) throw ContainerNotFound("no such container: \"\"");
    {
        image::Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                                          " FROM containers WHERE id = ?1 OR name = ?1");
        st.bind(1, text);
        if (st.step()) return read_row(st);
    }
    if (text.find_first_not_of("0123456789abcdef") == std::string::npos) {
        image::Statement st = db_.prepare("SELECT " + std::string(kColumns) +
                                          " FROM containers WHERE substr(id, 1, ?2) = ?1");
        st.bind(1, text).bind(2, static_cast<int64_t>(text.size()));
        std::vector<ContainerRecord> found;
        while (st.step())
            found.push_back(read_row(st));
        if (found.size() == 1) return found.front();
        if (found.size() > 1) throw Error("container id prefix " + text + " is ambiguous");
    }
    throw ContainerNotFound("no such container: " + text);
}

std::vector<ContainerRecord> ContainerDb::list() {
    image::Statement st =
        db_.prepare("SELECT " + std::string(kColumns) + " FROM containers ORDER BY created DESC");
    std::vector<ContainerRecord> out;
    while (st.step())
        out.push_back(read_row(st));
    return out;
}

void ContainerDb::update_state(const std::string& id, const ContainerState& s) {
    image::Statement st = db_.prepare(
        "UPDATE containers SET status = ?2, pid = ?3, pid_start = ?4, monitor_pid = ?5, "
        "monitor_start = ?6, exit_code = ?7, oom_killed = ?8, started_at = ?9, finished_at = "
        "?10, restart_count = ?11, stopped_by_user = ?12, health = ?13, failing_streak = ?14, "
        "error = ?15 WHERE id = ?1");
    st.bind(1, id).bind(2, to_string(s.status)).bind(3, s.pid).bind(4, s.pid_start);
    st.bind(5, s.monitor_pid).bind(6, s.monitor_start).bind(7, s.exit_code);
    st.bind(8, int64_t{s.oom_killed}).bind(9, s.started_at).bind(10, s.finished_at);
    st.bind(11, s.restart_count).bind(12, int64_t{s.stopped_by_user}).bind(13, s.health);
    st.bind(14, s.failing_streak).bind(15, s.error);
    st.run();
}

std::optional<ContainerState> ContainerDb::modify_state(
    const std::string& id, const std::function<void(ContainerState&)>& change) {
    image::Transaction transaction(db_);
    auto record = get(id);
    if (!record) return std::nullopt;
    change(record->state);
    update_state(id, record->state);
    transaction.commit();
    return record->state;
}

void ContainerDb::update_config(const std::string& id, const nlohmann::json& config) {
    image::Statement st = db_.prepare("UPDATE containers SET config = ?2 WHERE id = ?1");
    st.bind(1, id).bind(2, config.dump());
    st.run();
}

void ContainerDb::rename(const std::string& id, const std::string& name) {
    image::Statement st = db_.prepare("UPDATE containers SET name = ?2 WHERE id = ?1");
    st.bind(1, id).bind(2, name);
    try {
        st.run();
    } catch (const Error&) {
        throw Error("the container name \"" + name + "\" is already in use");
    }
}

void ContainerDb::remove(const std::string& id) {
    image::Statement st = db_.prepare("DELETE FROM containers WHERE id = ?1");
    st.bind(1, id);
    st.run();
}

}  // namespace berth::engine

// The monitor's attach socket (<container dir>/attach.sock): framed messages both ways, a
// type byte and a 4-byte big-endian length before each payload.
//   monitor -> client: stdout / stderr bytes, the exit code (decimal text) once the
//                      container is done for good (after its cleanup), start failures.
//   client -> monitor: stdin bytes, end of stdin, terminal size ("ROWS COLS").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::engine::attach {

enum class Frame : uint8_t {
    stdin_data = 0,
    stdout_data = 1,
    stderr_data = 2,
    exit_code = 3,
    stdin_close = 4,
    resize = 5,
};

struct Message {
    Frame type = Frame::stdout_data;
    std::string payload;
};

// Writes one frame; false when the peer is gone.
bool send(int fd, Frame type, std::string_view payload);

// Reads frames out of a byte stream: feed it what read() returned, take complete messages.
class Decoder {
  public:
    void feed(const char* data, size_t size) { buffer_.append(data, size); }
    std::optional<Message> next();

  private:
    std::string buffer_;
};

}  // namespace berth::engine::attach

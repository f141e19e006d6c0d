// pprof profile writer: the subset of profile.proto
// (github.com/google/pprof/proto/profile.proto) that block, mutex, goroutine and
// CPU profiles need, encoded by hand and gzip-compressed, as the Go runtime does
// it. `go tool pprof` reads the result without the binary: every location carries
// its function, file and line, and inlined frames are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/expected.h"

namespace goscope::output {

struct ValueType {
  std::string type;  // "delay"
  std::string unit;  // "nanoseconds"
};

// One source position of a location: a function at a line.
struct Line {
  std::string function;     // display name, "main.(*Server).handle"
  std::string system_name;  // linker symbol; empty means the same as function
  std::string file;         // "/src/app/server.go"
  int64_t line = 0;
};

// A program counter and the source frames it stands for. Several lines are
// inlined calls, innermost first (the order profile.proto requires): lines[0] is
// the inlined callee, lines.back() the function that was really called.
// No lines: an unsymbolized address.
struct Location {
  uint64_t address = 0;
  std::vector<Line> lines;
};

struct NumLabel {
  std::string key;
  int64_t value = 0;
  std::string unit;  // optional, "bytes", "nanoseconds"
};

struct Sample {
  std::vector<Location> stack;  // leaf first, as pprof stores it
  std::vector<int64_t> values;  // one per declared sample type, in that order
  // {"goid", "42"}. An empty value would read back as the number 0: proto3
  // cannot tell "" from unset, and pprof takes an unset string for a number.
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<NumLabel> num_labels;
};

// The main binary. The has_* flags tell pprof the locations are already
// symbolized, so it never goes looking for the binary to do it again.
struct Mapping {
  uint64_t start = 0;
  uint64_t limit = 0;
  uint64_t offset = 0;
  std::string filename;
  std::string build_id;
  bool has_functions = false;
  bool has_filenames = false;
  bool has_line_numbers = false;
  bool has_inline_frames = false;
};

// Builds one profile. Strings, functions and locations are interned as samples
// arrive: a sample costs its location ids and values, each distinct frame is
// stored once.
class ProfileBuilder {
 public:
  explicit ProfileBuilder(const std::vector<ValueType>& sample_types);

  void set_period(const ValueType& period_type, int64_t period);
  void set_time(int64_t time_nanos, int64_t duration_nanos);
  void set_mapping(const Mapping& mapping);
  // Which sample type pprof shows by default; pprof picks the last one otherwise.
  void set_default_sample_type(std::string_view type);

  // Fails when the sample has not one value per sample type.
  Expected<void> add_sample(const Sample& sample);

  std::vector<uint8_t> encode() const;           // profile.proto bytes, uncompressed
  Expected<std::vector<uint8_t>> write() const;  // gzip of encode(): a .pb.gz
  Expected<void> write_file(const std::string& path) const;

 private:
  // Every string is interned when it arrives, so encode() only writes ids.
  struct EncodedValueType {
    int64_t type = 0, unit = 0;
  };
  struct EncodedMapping {
    Mapping mapping;
    int64_t filename = 0, build_id = 0;
  };
  struct EncodedLabel {
    int64_t key = 0, str = 0, num = 0, num_unit = 0;
  };
  struct EncodedSample {
    std::vector<uint64_t> location_ids;
    std::vector<int64_t> values;
    std::vector<EncodedLabel> labels;
  };
  struct EncodedFunction {
    int64_t name, system_name, file;
  };
  struct EncodedLocation {
    uint64_t address;
    std::vector<std::pair<uint64_t, int64_t>> lines;  // function id, line
  };

  int64_t intern_string(std::string_view s);
  EncodedValueType intern_value_type(const ValueType& vt);
  uint64_t intern_function(const Line& line);
  uint64_t intern_location(const Location& location);

  std::vector<EncodedValueType> sample_types_;
  std::optional<EncodedValueType> period_type_;
  int64_t period_ = 0;
  int64_t time_nanos_ = 0;
  int64_t duration_nanos_ = 0;
  std::optional<EncodedMapping> mapping_;
  int64_t default_sample_type_ = 0;  // 0: not set

  std::vector<std::string> strings_;
  std::unordered_map<std::string, int64_t> string_ids_;
  std::vector<EncodedFunction> functions_;  // id = index + 1
  std::unordered_map<std::string, uint64_t> function_ids_;
  std::vector<EncodedLocation> locations_;  // id = index + 1
  std::unordered_map<std::string, uint64_t> location_ids_;
  std::vector<EncodedSample> samples_;
};

// The protobuf wire format, the little of it profiles use (exposed for tests).
class ProtoEncoder {
 public:
  void varint(uint64_t x);
  void uint64_field(int field, uint64_t x);          // skipped when 0 (proto3 default)
  void int64_field(int field, int64_t x);            // skipped when 0
  void bool_field(int field, bool x);                // skipped when false
  void string_field(int field, std::string_view s);  // always written
  void packed_field(int field, const std::vector<uint64_t>& xs);
  void packed_field(int field, const std::vector<int64_t>& xs);
  void message_field(int field, const ProtoEncoder& message);

  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  void tag(int field, int wire_type);
  void length_delimited(int field, const uint8_t* data, size_t size);
  std::vector<uint8_t> bytes_;
};

// gzip (RFC 1952) of data, what pprof expects of a profile file.
Expected<std::vector<uint8_t>> gzip(const std::vector<uint8_t>& data);

// Writes bytes to path, replacing it.
Expected<void> write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace goscope::output

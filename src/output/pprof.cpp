#include "output/pprof.h"

#include "common/user_files.h"

#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace goscope::output {

namespace {

// Field numbers of profile.proto.
namespace tag {
enum Profile {
  kSampleType = 1,
  kSample = 2,
  kMapping = 3,
  kLocation = 4,
  kFunction = 5,
  kStringTable = 6,
  kTimeNanos = 9,
  kDurationNanos = 10,
  kPeriodType = 11,
  kPeriod = 12,
  kDefaultSampleType = 14,
};
enum ValueType { kValueTypeType = 1, kValueTypeUnit = 2 };
enum Sample { kSampleLocationId = 1, kSampleValue = 2, kSampleLabel = 3 };
enum Label { kLabelKey = 1, kLabelStr = 2, kLabelNum = 3, kLabelNumUnit = 4 };
enum Mapping {
  kMappingId = 1,
  kMappingStart = 2,
  kMappingLimit = 3,
  kMappingOffset = 4,
  kMappingFilename = 5,
  kMappingBuildId = 6,
  kMappingHasFunctions = 7,
  kMappingHasFilenames = 8,
  kMappingHasLineNumbers = 9,
  kMappingHasInlineFrames = 10,
};
enum Location { kLocationId = 1, kLocationMappingId = 2, kLocationAddress = 3, kLocationLine = 4 };
enum Line { kLineFunctionId = 1, kLineLine = 2 };
enum Function { kFunctionId = 1, kFunctionName = 2, kFunctionSystemName = 3, kFunctionFilename = 4 };
}  // namespace tag

enum WireType { kVarint = 0, kLengthDelimited = 2 };

constexpr uint64_t kMainMappingId = 1;

// Interning keys are lists of numbers; the separator keeps {1, 23} and
// {12, 3} apart.
void append_key_part(std::string& key, uint64_t x) {
  key += std::to_string(x);
  key += ',';
}

}  // namespace

// ---- ProtoEncoder

void ProtoEncoder::varint(uint64_t x) {
  while (x >= 0x80) {
    bytes_.push_back(static_cast<uint8_t>(x) | 0x80);
    x >>= 7;
  }
  bytes_.push_back(static_cast<uint8_t>(x));
}

void ProtoEncoder::tag(int field, int wire_type) {
  varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
}

void ProtoEncoder::uint64_field(int field, uint64_t x) {
  if (x == 0) return;
  tag(field, kVarint);
  varint(x);
}

// int64 is a plain varint of the two's complement (not zigzag): a negative
// number takes ten bytes, as protobuf's int64 type specifies.
void ProtoEncoder::int64_field(int field, int64_t x) {
  uint64_field(field, static_cast<uint64_t>(x));
}

void ProtoEncoder::bool_field(int field, bool x) {
  uint64_field(field, x ? 1 : 0);
}

void ProtoEncoder::length_delimited(int field, const uint8_t* data, size_t size) {
  tag(field, kLengthDelimited);
  varint(size);
  bytes_.insert(bytes_.end(), data, data + size);
}

// Written even when empty: the string table's entry 0 must be "".
void ProtoEncoder::string_field(int field, std::string_view s) {
  length_delimited(field, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

void ProtoEncoder::packed_field(int field, const std::vector<uint64_t>& xs) {
  if (xs.empty()) return;
  ProtoEncoder packed;
  for (uint64_t x : xs) packed.varint(x);
  length_delimited(field, packed.bytes_.data(), packed.bytes_.size());
}

void ProtoEncoder::packed_field(int field, const std::vector<int64_t>& xs) {
  packed_field(field, std::vector<uint64_t>(xs.begin(), xs.end()));
}

void ProtoEncoder::message_field(int field, const ProtoEncoder& message) {
  length_delimited(field, message.bytes_.data(), message.bytes_.size());
}

// ---- ProfileBuilder

ProfileBuilder::ProfileBuilder(const std::vector<ValueType>& sample_types) {
  intern_string("");  // profile.proto: string_table[0] must be ""
  for (const ValueType& vt : sample_types) sample_types_.push_back(intern_value_type(vt));
}

void ProfileBuilder::set_period(const ValueType& period_type, int64_t period) {
  period_type_ = intern_value_type(period_type);
  period_ = period;
}

void ProfileBuilder::set_time(int64_t time_nanos, int64_t duration_nanos) {
  time_nanos_ = time_nanos;
  duration_nanos_ = duration_nanos;
}

void ProfileBuilder::set_mapping(const Mapping& mapping) {
  mapping_ = EncodedMapping{mapping, intern_string(mapping.filename), intern_string(mapping.build_id)};
}

void ProfileBuilder::set_default_sample_type(std::string_view type) {
  default_sample_type_ = intern_string(type);
}

ProfileBuilder::EncodedValueType ProfileBuilder::intern_value_type(const ValueType& vt) {
  return {intern_string(vt.type), intern_string(vt.unit)};
}

int64_t ProfileBuilder::intern_string(std::string_view s) {
  auto [it, inserted] = string_ids_.try_emplace(std::string(s), static_cast<int64_t>(strings_.size()));
  if (inserted) strings_.emplace_back(s);
  return it->second;
}

uint64_t ProfileBuilder::intern_function(const Line& line) {
  EncodedFunction f{intern_string(line.function),
                    intern_string(line.system_name.empty() ? line.function : line.system_name),
                    intern_string(line.file)};
  std::string key;
  for (int64_t id : {f.name, f.system_name, f.file}) append_key_part(key, static_cast<uint64_t>(id));
  auto [it, inserted] = function_ids_.try_emplace(key, functions_.size() + 1);
  if (inserted) functions_.push_back(f);
  return it->second;
}

uint64_t ProfileBuilder::intern_location(const Location& location) {
  EncodedLocation l{location.address, {}};
  std::string key;
  append_key_part(key, location.address);
  for (const Line& line : location.lines) {
    l.lines.emplace_back(intern_function(line), line.line);
    append_key_part(key, l.lines.back().first);
    append_key_part(key, static_cast<uint64_t>(line.line));
  }
  auto [it, inserted] = location_ids_.try_emplace(key, locations_.size() + 1);
  if (inserted) locations_.push_back(std::move(l));
  return it->second;
}

Expected<void> ProfileBuilder::add_sample(const Sample& sample) {
  if (sample.values.size() != sample_types_.size()) {
    return make_error("pprof sample has " + std::to_string(sample.values.size()) +
                      " values but the profile declares " + std::to_string(sample_types_.size()) +
                      " sample types; give one value per sample type");
  }
  EncodedSample s;
  s.values = sample.values;
  for (const Location& location : sample.stack) s.location_ids.push_back(intern_location(location));
  for (const auto& [key, value] : sample.labels)
    s.labels.push_back({intern_string(key), intern_string(value), 0, 0});
  for (const NumLabel& label : sample.num_labels) {
    s.labels.push_back(
        {intern_string(label.key), 0, label.value, label.unit.empty() ? 0 : intern_string(label.unit)});
  }
  samples_.push_back(std::move(s));
  return {};
}

std::vector<uint8_t> ProfileBuilder::encode() const {
  auto value_type = [](const EncodedValueType& vt) {
    ProtoEncoder m;
    m.int64_field(tag::kValueTypeType, vt.type);
    m.int64_field(tag::kValueTypeUnit, vt.unit);
    return m;
  };

  ProtoEncoder out;
  for (const EncodedValueType& vt : sample_types_) out.message_field(tag::kSampleType, value_type(vt));
  for (const EncodedSample& s : samples_) {
    ProtoEncoder m;
    m.packed_field(tag::kSampleLocationId, s.location_ids);
    m.packed_field(tag::kSampleValue, s.values);
    for (const EncodedLabel& l : s.labels) {
      ProtoEncoder label;
      label.int64_field(tag::kLabelKey, l.key);
      label.int64_field(tag::kLabelStr, l.str);
      label.int64_field(tag::kLabelNum, l.num);
      label.int64_field(tag::kLabelNumUnit, l.num_unit);
      m.message_field(tag::kSampleLabel, label);
    }
    out.message_field(tag::kSample, m);
  }
  if (mapping_) {
    ProtoEncoder m;
    m.uint64_field(tag::kMappingId, kMainMappingId);
    const Mapping& mapping = mapping_->mapping;
    m.uint64_field(tag::kMappingStart, mapping.start);
    m.uint64_field(tag::kMappingLimit, mapping.limit);
    m.uint64_field(tag::kMappingOffset, mapping.offset);
    m.int64_field(tag::kMappingFilename, mapping_->filename);
    m.int64_field(tag::kMappingBuildId, mapping_->build_id);
    m.bool_field(tag::kMappingHasFunctions, mapping.has_functions);
    m.bool_field(tag::kMappingHasFilenames, mapping.has_filenames);
    m.bool_field(tag::kMappingHasLineNumbers, mapping.has_line_numbers);
    m.bool_field(tag::kMappingHasInlineFrames, mapping.has_inline_frames);
    out.message_field(tag::kMapping, m);
  }
  for (size_t i = 0; i < locations_.size(); ++i) {
    ProtoEncoder m;
    m.uint64_field(tag::kLocationId, i + 1);
    if (mapping_) m.uint64_field(tag::kLocationMappingId, kMainMappingId);
    m.uint64_field(tag::kLocationAddress, locations_[i].address);
    for (const auto& [function_id, line_number] : locations_[i].lines) {
      ProtoEncoder line;
      line.uint64_field(tag::kLineFunctionId, function_id);
      line.int64_field(tag::kLineLine, line_number);
      m.message_field(tag::kLocationLine, line);
    }
    out.message_field(tag::kLocation, m);
  }
  for (size_t i = 0; i < functions_.size(); ++i) {
    ProtoEncoder m;
    m.uint64_field(tag::kFunctionId, i + 1);
    m.int64_field(tag::kFunctionName, functions_[i].name);
    m.int64_field(tag::kFunctionSystemName, functions_[i].system_name);
    m.int64_field(tag::kFunctionFilename, functions_[i].file);
    out.message_field(tag::kFunction, m);
  }
  out.int64_field(tag::kTimeNanos, time_nanos_);
  out.int64_field(tag::kDurationNanos, duration_nanos_);
  if (period_type_) out.message_field(tag::kPeriodType, value_type(*period_type_));
  out.int64_field(tag::kPeriod, period_);
  out.int64_field(tag::kDefaultSampleType, default_sample_type_);
  for (const std::string& s : strings_) out.string_field(tag::kStringTable, s);
  return out.bytes();
}

Expected<std::vector<uint8_t>> ProfileBuilder::write() const {
  return gzip(encode());
}

Expected<void> ProfileBuilder::write_file(const std::string& path) const {
  GS_TRY(auto bytes, write());
  return write_bytes(path, bytes);
}

// ---- files

Expected<std::vector<uint8_t>> gzip(const std::vector<uint8_t>& data) {
  // One deflate call takes at most 4 GiB (zlib counts in uInt); profiles are far smaller.
  if (data.size() > UINT32_MAX) return make_error("profile too large to compress (over 4 GiB)");
  z_stream z{};
  // windowBits 15 + 16: zlib writes a gzip header and trailer instead of zlib's own.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error("cannot start gzip compression (zlib deflateInit2 failed)");
  }
  std::vector<uint8_t> out(deflateBound(&z, data.size()));
  z.next_in = const_cast<Bytef*>(data.data());  // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    return make_error("gzip compression failed (zlib deflate returned " + std::to_string(rc) + ")");
  return out;
}

Expected<void> write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  return write_user_file(path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

}  // namespace goscope::output

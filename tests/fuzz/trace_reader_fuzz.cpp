// libFuzzer target: the trace reader on hostile bytes. It must never crash,
// hang or allocate without bound, and must stop at damage with a message.
// Built and run by scripts/fuzz.sh (clang, ASan + UBSan), which defines
// FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION so mutations get past the checksums.
//
// The first byte picks what the rest is:
//   even: a whole trace file (the corpus holds real ones);
//   odd:  the raw payload of one uncompressed block, after a valid header
//         block, so that mutations reach the record decoders directly.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tracefile/trace_file.h"

namespace {

using namespace goscope;

// Answers nothing: the header block only needs build info, offsets and wait reasons.
class NoCode final : public state::CodeInfo {
 public:
  std::vector<state::SourceFrame> frames(uint64_t) const override { return {}; }
  std::optional<uint64_t> function_entry(uint64_t) const override { return std::nullopt; }
  const state::LockLines& lock_lines(uint64_t) const override { return none_; }
  std::string_view goroot_src() const override { return "/usr/lib/go/src/"; }
  const sym::GoOffsets& offsets() const override { return offsets_; }
  const std::vector<std::string>& wait_reasons() const override { return reasons_; }
  const sym::BuildInfo& build_info() const override { return build_; }

 private:
  state::LockLines none_;
  sym::GoOffsets offsets_;
  std::vector<std::string> reasons_{"", "chan receive"};
  sym::BuildInfo build_;
};

// The file header and a valid header block, written once by the real writer.
std::string header_prefix() {
  char path[] = "/tmp/goscope-fuzz-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) std::abort();
  close(fd);
  model::StackTable stacks;
  uint64_t size = 0;
  {
    model::TraceMeta meta;
    meta.goscope_version = "fuzz";
    auto w = tracefile::TraceWriter::create(path, meta, std::make_shared<NoCode>(), stacks);
    if (!w) std::abort();
    size = (*w)->bytes_written();
  }
  std::string bytes(size, '\0');
  FILE* f = std::fopen(path, "rb");
  if (!f || std::fread(bytes.data(), 1, size, f) != size) std::abort();
  std::fclose(f);
  unlink(path);
  return bytes;
}

void put_u32(std::string& s, uint32_t x) {
  for (int i = 0; i < 4; i++) s += static_cast<char>(x >> (8 * i));
}

std::string one_block_file(const uint8_t* payload, size_t size) {
  static const std::string prefix = header_prefix();
  std::string file = prefix + "GSBK";
  file += std::string(4, '\0');  // flags: stored as is
  put_u32(file, static_cast<uint32_t>(size));
  put_u32(file, static_cast<uint32_t>(size));
  put_u32(file, 0);  // checksums: not verified in this build
  put_u32(file, 0);
  file.append(reinterpret_cast<const char*>(payload), size);
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes = data[0] & 1 ? one_block_file(data + 1, size - 1)
                                        : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  auto reader = tracefile::TraceReader::open_bytes(bytes, "fuzz.gst");
  if (!reader) {
    if (reader.error().message.empty()) __builtin_trap();  // every refusal says why
    return 0;
  }
  tracefile::TraceReader& r = **reader;
  const auto code = r.code();
  uint64_t sink = r.meta().pid;
  while (const auto* item = r.next()) {
    if (item->kind == tracefile::TraceReader::Item::Kind::kEvent) {
      // What a replay does with an event: its stack and pcs, through the stored tables.
      for (uint64_t pc : r.stacks().get(item->event.stack))
        for (const auto& f : code->frames(pc)) sink += f.function.size() + f.file.size() + f.line;
      if (auto entry = code->function_entry(item->event.pc)) sink += code->lock_lines(*entry).lock.size();
    }
    sink += item->note.size() + item->seed.goroutines.size() + item->finding.title.size();
  }
  // The reader's promise: a file either ends cleanly or says what is wrong.
  if (r.damage().empty() && !r.end()) __builtin_trap();
  if (r.stream_info().stacks != &r.stacks()) __builtin_trap();
  return sink == 42 ? 0 : 0;
}

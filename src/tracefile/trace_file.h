// goscope's trace file (.gst): a recording that replays through the same
// detectors as a live session, on any machine, without the traced binary.
//
// Layout (all integers little-endian or LEB128 varints):
//
//   file header   8-byte signature "\x89GST\r\n\x1a\n", format version (u32), zero (u32)
//   block*        header (24 bytes): "GSBK", flags (bit 0: payload deflated), 3 zero bytes,
//                 stored size (u32), raw size (u32), crc32 of the stored payload,
//                 crc32 of the 20 header bytes before it; then the stored payload.
//
// A block's raw payload is two varint sizes, definitions, values, items. Definitions
// (code tables, stack definitions) come first, so everything an item refers to is
// known before it, in this block or an earlier one. Items are the seed snapshot,
// events, findings, notes and the end record, in recording order; values are the
// events' times, thread ids and durations, which vary at random and are kept apart
// so that deflate finds the items' repetitions. Each block decodes its
// items on its own (deltas restart at every block), so a recorder killed mid-run
// loses only its unflushed block, and a damaged block hides only what follows it.
//
// Block 0 holds the header record: model::TraceMeta, the binary's build info, Go offsets
// (by key), wait reason names and GOROOT. Code tables hold, for each address a
// replay may ask about (a stack's pcs[0], its return addresses minus one, event pcs
// and pc - 1, start pcs, function entries), the source frames and function entry,
// and for each function entry its lock lines: state::CodeInfo as stored.
//
// Events are encoded against the previous event of the same kind in the block: a
// kind byte, a bit mask of the fields that differ, then each differing field
// (zigzag delta or raw); in the values, the time delta from the previous event,
// the thread id's delta and the duration of a two-part operation. A steady
// stream (a ping-pong: the same objects, goroutines and stacks again and again)
// costs a few bytes per event before deflate.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/expected.h"
#include "state/code_info.h"
#include "detect/findings.h"
#include "model/event.h"
#include "model/snapshot.h"
#include "tracefile/stored_code_info.h"
#include "model/recording.h"

namespace goscope::tracefile {

inline constexpr uint32_t kTraceFormatVersion = 1;
// A block is ended once its payload reaches this size (or on flush()).
inline constexpr size_t kTraceBlockTarget = 256 * 1024;
// Readers refuse larger blocks: a hostile file cannot make them allocate more.
inline constexpr size_t kTraceBlockLimit = 64 * 1024 * 1024;

// Not thread-safe: the one thread that consumes events writes them.
class TraceWriter {
 public:
  // Creates (truncates) `path` and writes the header block at once. `code` answers for
  // the traced binary; `stacks` is the table the events' stack ids refer to. Both must
  // outlive the writer.
  static Expected<std::unique_ptr<TraceWriter>> create(const std::string& path, const model::TraceMeta& meta,
                                                       std::shared_ptr<const state::CodeInfo> code,
                                                       const model::StackTable& stacks);
  ~TraceWriter();  // flushes what is buffered when close() was not called (no end record)
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // The goroutines at attach time; `load_bias` is subtracted from their code addresses
  // (stack, go_pc, start_pc) as StateModel::seed does, so the stored snapshot seeds with 0.
  Expected<void> seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias);
  Expected<void> event(const model::Event& e);  // buffered into the current block
  Expected<void> finding(const detect::Finding& f);
  Expected<void> note(const std::string& text);
  // Ends the current block (the recorder calls it every second); automatic at kTraceBlockTarget.
  Expected<void> flush();
  // The end record, flush, fsync, close. Nothing can be written after it.
  Expected<void> close(const model::TraceEnd& end);

  uint64_t events_written() const { return events_written_; }
  uint64_t bytes_written() const { return bytes_written_; }  // in the file so far
  uint64_t blocks_written() const { return blocks_written_; }

 private:
  struct Encoder;
  TraceWriter(std::string path, int fd, std::shared_ptr<const state::CodeInfo> code,
              const model::StackTable& stacks);
  Expected<void> write_block(const std::vector<uint8_t>& raw);
  Expected<void> check_open() const;
  Expected<void> after_item();
  void define_stacks_up_to(model::StackId id);
  void define_address(uint64_t vaddr);
  void define_code_address(uint64_t vaddr, bool return_address);

  std::string path_;
  int fd_ = -1;
  std::shared_ptr<const state::CodeInfo> code_;
  const model::StackTable& stacks_;
  std::unique_ptr<Encoder> enc_;
  std::optional<Error> failed_;  // the first write error: every later call returns it
  model::StackId stacks_defined_ = 0;
  std::unordered_set<uint64_t> addresses_defined_;
  std::unordered_set<uint64_t> entries_defined_;
  uint64_t events_written_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t blocks_written_ = 0;
};

class TraceReader {
 public:
  // Errors: no such file, not a goscope trace, written by a newer goscope, header block
  // unreadable. `path` is named in every message.
  static Expected<std::unique_ptr<TraceReader>> open(const std::string& path);
  // The same over bytes in memory (`name` stands for the file in messages).
  static Expected<std::unique_ptr<TraceReader>> open_bytes(std::string bytes, const std::string& name);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  const model::TraceMeta& meta() const { return meta_; }
  std::shared_ptr<const state::CodeInfo> code() const { return code_; }  // grows as blocks are read
  // The reader's own table: file stack ids are interned here (in file order, so the same
  // ids as the recorder's table unless someone else interns into it meanwhile).
  model::StackTable& stacks() { return stacks_; }
  model::StreamInfo stream_info() const;

  struct Item {
    enum class Kind { kSeed, kEvent, kFinding, kNote };
    Kind kind = Kind::kEvent;
    model::Event event;
    model::ProcessSnapshot seed;  // code addresses are ELF vaddrs: seed with load bias 0
    detect::Finding finding;
    std::string note;
  };
  // The next item (valid until the next call); nullptr at the end of the file or of its
  // readable part (see damage()).
  const Item* next();

  const std::optional<model::TraceEnd>& end() const { return end_; }  // present when the recording ended cleanly
  // "" while the file reads whole; else what is wrong and where (a block cut short, a
  // checksum mismatch, a file that ends without its end record).
  const std::string& damage() const { return damage_; }
  uint64_t events_read() const { return events_read_; }
  uint64_t blocks_read() const { return blocks_read_; }

  class Source;  // where the bytes come from: a file or memory

 private:
  struct Cursor;
  TraceReader(std::string name, std::unique_ptr<Source> source);
  Expected<void> read_header();
  // Reads, checks and inflates the next block into block_; false at the end or on damage.
  bool load_block();
  Expected<void> read_definitions(Cursor& c);
  // From the items at `c` and their values at `v`; false: the record was not an item (the end record).
  Expected<bool> read_item(Cursor& c, Cursor& v);
  void set_damage(std::string what);

  std::string name_;
  std::unique_ptr<Source> source_;
  uint64_t file_size_ = 0;
  uint64_t offset_ = 0;  // of the next block
  model::TraceMeta meta_;
  std::shared_ptr<StoredCodeInfo> code_;
  model::StackTable stacks_;
  std::vector<model::StackId> stack_ids_;  // file stack id - 1 -> id in stacks_
  std::vector<uint8_t> block_;             // the current block's raw payload
  size_t block_pos_ = 0;                   // next item in block_
  size_t values_pos_ = 0;                  // next value in block_ (times, threads, durations)
  size_t values_end_ = 0;
  uint64_t block_index_ = 0;  // of the current block
  uint64_t block_offset_ = 0;
  std::vector<model::Event> last_;  // per kind, in the current block
  int64_t last_time_ = 0;
  Item item_;
  std::optional<model::TraceEnd> end_;
  std::string damage_;
  bool done_ = false;
  uint64_t events_read_ = 0;
  uint64_t blocks_read_ = 0;
};

}  // namespace goscope::tracefile

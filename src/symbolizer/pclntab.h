// The Go runtime's own symbol table (.gopclntab): functions, names, file:line
// and inlined frames. It survives `-ldflags=-s -w`, so stripped binaries
// symbolize fully. Header formats of Go 1.16/1.17, 1.18/1.19 and 1.20+.
// All addresses here are ELF virtual addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/expected.h"
#include "symbolizer/elf_file.h"

namespace goscope::sym {

enum class PclntabFormat { kGo116, kGo118, kGo120 };

struct Frame {
  std::string_view function;  // views into the mapped binary: valid while it is open
  std::string_view file;
  int line = 0;
  bool inlined = false;  // an inlined call: the next frame is its caller in the same physical function
};

// One contiguous PC range of a function where the inline tree says some call was inlined.
struct InlinedRange {
  uint64_t start = 0;  // ELF vaddrs, [start, end)
  uint64_t end = 0;
  std::vector<std::string_view> chain;  // callee names, innermost first (the outer function excluded)
  std::vector<int32_t> chain_index;     // their inline-tree indexes: one index = one inlined call instance
};

// What the garbage collector reads of a function to scan its stack frames
// (runtime/symtab.go, runtime/stkframe.go): PCDATA / FUNCDATA indexes and flags.
inline constexpr uint32_t kPcdataStackMapIndex = 1;
inline constexpr uint32_t kFuncdataArgsPointerMaps = 0;
inline constexpr uint32_t kFuncdataLocalsPointerMaps = 1;
inline constexpr uint32_t kFuncdataStackObjects = 2;
inline constexpr uint8_t kFuncFlagTopFrame = 1;  // the first frame of its stack (runtime.goexit, mstart)
inline constexpr uint8_t kFuncFlagSpWrite = 2;   // writes SP: no unwinding through it
inline constexpr int32_t kArgsSizeUnknown = INT32_MIN;

// A stack map (runtime.stackmap): n bitmaps of nbit bits each, one per
// PCDATA_StackMapIndex value; bit i set = the word i of the area holds a live pointer.
struct StackMap {
  int32_t n = 0;
  int32_t nbit = 0;
  std::span<const uint8_t> bytes;  // n bitmaps, each rounded up to whole bytes
  // Bitmap `index`, empty when out of range.
  std::span<const uint8_t> bitmap(int32_t index) const;
};

// An address-taken local or argument (runtime.stackObjectRecord): at varp + off when
// off < 0, else at argp + off.
struct StackObjectRecord {
  int32_t off = 0;
  int32_t size = 0;
};

class Pclntab {
 public:
  // `elf` must outlive the table (and must not be moved: the table keeps its address).
  static Expected<Pclntab> parse(const ElfFile& elf);

  PclntabFormat format() const { return format_; }
  uint64_t vaddr() const { return vaddr_; }  // where the table is
  uint64_t text_start() const { return text_start_; }
  uint64_t text_end() const { return funcs_.empty() ? 0 : end_pc_; }
  bool has_inline_data() const { return format_ == PclntabFormat::kGo116 || gofunc_ != 0; }
  size_t function_count() const { return funcs_.size(); }

  // Index of the function containing `pc`, if any.
  std::optional<size_t> function_at(uint64_t pc) const;
  // Index of the function with this exact name (e.g. "runtime.chansend").
  std::optional<size_t> function_named(std::string_view name) const;
  uint64_t function_entry(size_t idx) const { return funcs_[idx].entry; }
  // End of the function's code (the next function's entry, or the end of text).
  uint64_t function_end(size_t idx) const;
  std::string_view function_name(size_t idx) const;

  // Frames at `pc`, innermost (an inlined callee) first, outermost (the physical function) last.
  // Empty when `pc` is in no function.
  std::vector<Frame> frames_at(uint64_t pc) const;
  // Source position at `pc` (innermost).
  std::optional<std::pair<std::string_view, int>> file_line(size_t idx, uint64_t pc) const;
  // Every PC range of function `idx` that holds inlined code, with the chain of inlined callees.
  std::vector<InlinedRange> inlined_ranges(size_t idx) const;

  // The frame size of function `idx` at `pc` (pcsp table: bytes below the return
  // address), nullopt when unknown.
  std::optional<int32_t> sp_delta(size_t idx, uint64_t pc) const;
  // The value of PCDATA table `table` at `pc`, -1 when none.
  int32_t pcdata_value(size_t idx, uint32_t table, uint64_t pc) const;
  // Where FUNCDATA `index` of function `idx` is (an ELF vaddr), nullopt when it has none.
  std::optional<uint64_t> funcdata_vaddr(size_t idx, uint32_t index) const;
  // Bytes of arguments and results (kArgsSizeUnknown for some assembly functions).
  int32_t args_size(size_t idx) const;
  uint8_t flags(size_t idx) const;  // kFuncFlag*
  // FUNCDATA_ArgsPointerMaps or FUNCDATA_LocalsPointerMaps; nullopt when the function has none.
  std::optional<StackMap> stack_map(size_t idx, uint32_t funcdata) const;
  // FUNCDATA_StackObjects; empty when none.
  std::vector<StackObjectRecord> stack_objects(size_t idx) const;

 private:
  struct FuncEntry {
    uint64_t entry;
    uint32_t func_off;  // offset of the _func record from funcdata_
  };
  struct FuncRecord {
    uint64_t entry = 0;
    int32_t name_off = 0;
    uint32_t pcfile = 0;
    uint32_t pcln = 0;
    uint32_t npcdata = 0;
    uint32_t cu_offset = 0;
    int32_t args = 0;
    uint32_t pcsp = 0;
    uint8_t flag = 0;
    uint8_t nfuncdata = 0;
    uint64_t pcdata_at = 0;  // offset in data_ of the pcdata array
  };
  struct InlEntry {
    int32_t name_off;
    int32_t parent_pc;
  };

  std::optional<FuncRecord> record(size_t idx) const;
  // pcvalue table lookup: value at `pc` of the table at pctab offset `off`, -1 if none.
  int32_t pcvalue(const FuncRecord& f, uint32_t off, uint64_t pc) const;
  uint32_t pcdata_off(const FuncRecord& f, uint32_t table) const;
  std::optional<uint64_t> funcdata(const FuncRecord& f, uint32_t index) const;  // its vaddr
  std::optional<uint64_t> inline_tree(const FuncRecord& f) const;               // vaddr of FUNCDATA_InlTree
  std::optional<InlEntry> inline_entry(uint64_t tree, int32_t index) const;
  std::string_view cstring(uint64_t off) const;  // NUL-terminated string at data_ offset
  std::string_view file_name(const FuncRecord& f, int32_t fileno) const;
  uint32_t u32(uint64_t off) const;  // 0 past the end

  const ElfFile* elf_ = nullptr;
  std::span<const uint8_t> data_;  // the whole table
  uint64_t vaddr_ = 0;
  PclntabFormat format_ = PclntabFormat::kGo120;
  uint64_t text_start_ = 0;
  uint64_t end_pc_ = 0;
  uint64_t funcname_ = 0, cutab_ = 0, filetab_ = 0, pctab_ = 0, funcdata_ = 0;  // offsets in data_
  uint64_t gofunc_ = 0;  // vaddr of go:func.* (1.18+: base of funcdata offsets), 0 if unknown
  std::vector<FuncEntry> funcs_;
  // pcvalue tables decoded on first use, keyed by their pctab offset (the linker shares
  // identical tables between functions; runs are stored relative to the entry PC).
  struct DecodedTable {
    std::vector<uint32_t> ends;  // end of each run, as an offset from the function entry
    std::vector<int32_t> values;
  };
  struct TableCache {
    std::mutex mu;
    std::unordered_map<uint32_t, DecodedTable> tables;
    size_t runs = 0;
  };
  std::unique_ptr<TableCache> table_cache_ = std::make_unique<TableCache>();
  DecodedTable decode_table(uint32_t off, uint64_t entry) const;
  // Built on first use; once_flag behind a pointer so that the table stays movable.
  std::unique_ptr<std::once_flag> by_name_once_ = std::make_unique<std::once_flag>();
  mutable std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace goscope::sym

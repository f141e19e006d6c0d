// An ELF executable opened with libelf and mapped read-only: its sections,
// symbols, dynamic relocations and the mapping from ELF virtual addresses to
// file offsets (what uprobes are attached by). Every read is bounds-checked:
// a corrupt or truncated file gives an error or an empty result, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

struct Elf;

namespace goscope::sym {

struct ElfSymbol {
  std::string name;
  uint64_t vaddr = 0;  // ELF virtual address (not a process address)
  uint64_t size = 0;
};

struct ElfSegment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;  // file offset
  uint64_t filesz = 0;
  uint32_t flags = 0;  // PF_R / PF_W / PF_X
};

// The PT_TLS segment: the executable's thread-local storage template.
struct ElfTls {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t align = 1;
};

struct ElfSection {
  std::string name;
  uint64_t addr = 0;    // ELF virtual address (0 when not allocated)
  uint64_t offset = 0;  // file offset
  uint64_t size = 0;
  uint32_t type = 0;  // SHT_*
};

class ElfFile {
 public:
  static Expected<ElfFile> open(const std::string& path);

  ElfFile(ElfFile&&) noexcept;
  ElfFile& operator=(ElfFile&&) noexcept;
  ~ElfFile();

  const std::string& path() const { return path_; }
  bool is_pie() const { return is_pie_; }  // ET_DYN: loaded at a bias
  bool has_symtab() const { return has_symtab_; }
  bool has_section(std::string_view name) const { return find_section(name).has_value(); }
  std::optional<ElfSection> find_section(std::string_view name) const;
  // The build id, for pprof's mapping: the GNU one (hex) when the linker wrote it (external
  // linking), else Go's own (.note.go.buildid), as `go tool buildid` shows it; "" when none.
  std::string build_id() const;
  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSegment>& load_segments() const { return segments_; }
  const std::optional<ElfTls>& tls() const { return tls_; }

  // Function symbol by exact name, from .symtab (Go binaries have no useful .dynsym).
  std::optional<ElfSymbol> find_function(std::string_view name) const;
  // Any .symtab symbol (function or object) by exact name.
  std::optional<ElfSymbol> find_symbol(std::string_view name) const;
  // Every data object symbol (STT_OBJECT) of .symtab, in file order; empty when stripped.
  std::vector<ElfSymbol> object_symbols() const;

  // File offset of an ELF virtual address inside a loadable segment.
  Expected<uint64_t> vaddr_to_file_offset(uint64_t vaddr) const;

  // Bytes of the file at an ELF virtual address range (must lie in one segment).
  Expected<std::vector<uint8_t>> read_vaddr(uint64_t vaddr, uint64_t size) const;
  // The same without copying: a view into the mapped file, empty when the
  // range is not wholly backed by file bytes of one segment.
  std::span<const uint8_t> vaddr_bytes(uint64_t vaddr, uint64_t size) const;
  // The whole file, mapped privately (copy-on-write: libelf may patch its view; the file never changes).
  std::span<const uint8_t> bytes() const { return {map_, map_size_}; }

  // A pointer-sized little-endian value at `vaddr`, with the R_X86_64_RELATIVE
  // dynamic relocation applied when one targets it (PIE data holds addends there).
  std::optional<uint64_t> read_pointer(uint64_t vaddr) const;

  // The underlying libelf handle, for modules that read sections themselves.
  Elf* elf() const { return elf_; }
  int fd() const { return fd_; }

 private:
  ElfFile() = default;
  void close();
  void load_relocations();

  std::string path_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  bool is_pie_ = false;
  bool has_symtab_ = false;
  std::vector<ElfSegment> segments_;
  std::optional<ElfTls> tls_;
  std::vector<ElfSection> sections_;
  std::vector<std::pair<uint64_t, uint64_t>> relative_relocs_;  // r_offset -> addend, sorted
};

}  // namespace goscope::sym

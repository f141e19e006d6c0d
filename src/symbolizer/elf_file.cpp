#include "symbolizer/elf_file.h"

#include "common/hex.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace goscope::sym {

namespace {

Error elf_error(const std::string& path, const char* what) {
  return make_error(path + ": " + what + ": " + elf_errmsg(-1));
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

Expected<ElfFile> ElfFile::open(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return make_error("libelf is too old for this ELF version");

  ElfFile f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) return Error::from_errno("cannot open " + path, errno);
  struct stat st;
  if (fstat(f.fd_, &st) != 0) return Error::from_errno("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return make_error(path + ": not a regular file");
  if (st.st_size < 64) return make_error(path + ": not an ELF executable (file too small)");
  void* m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, f.fd_, 0);
  if (m == MAP_FAILED) return Error::from_errno("cannot map " + path, errno);
  f.map_ = static_cast<const uint8_t*>(m);
  f.map_size_ = static_cast<size_t>(st.st_size);
  if (std::memcmp(f.map_, ELFMAG, SELFMAG) != 0) return make_error(path + ": not an ELF executable");

  f.elf_ = elf_memory(const_cast<char*>(reinterpret_cast<const char*>(f.map_)), f.map_size_);
  if (!f.elf_) return elf_error(path, "not a readable ELF file");
  if (elf_kind(f.elf_) != ELF_K_ELF) return make_error(path + ": not an ELF executable");

  GElf_Ehdr ehdr;
  if (!gelf_getehdr(f.elf_, &ehdr)) return elf_error(path, "bad ELF header");
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64)
    return make_error(path + ": not an x86-64 ELF binary (goscope traces amd64 Go programs)");
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
    return make_error(path + ": not an executable (ELF type " + std::to_string(ehdr.e_type) + ")");
  f.is_pie_ = ehdr.e_type == ET_DYN;

  size_t phnum = 0;
  if (elf_getphdrnum(f.elf_, &phnum) != 0) return elf_error(path, "bad program headers");
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(f.elf_, static_cast<int>(i), &ph)) return elf_error(path, "bad program header");
    if (ph.p_type == PT_TLS) f.tls_ = ElfTls{ph.p_vaddr, ph.p_memsz, ph.p_align ? ph.p_align : 1};
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_filesz > f.map_size_ || ph.p_offset > f.map_size_ - ph.p_filesz)
      return make_error(path + ": file is truncated (a loadable segment lies beyond its end)");
    f.segments_.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags});
  }
  if (f.segments_.empty()) return make_error(path + ": ELF file has no loadable segments");

  size_t shstrndx = 0;
  const bool have_names = elf_getshdrstrndx(f.elf_, &shstrndx) == 0;
  for (Elf_Scn* scn = elf_nextscn(f.elf_, nullptr); scn; scn = elf_nextscn(f.elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* n = have_names ? elf_strptr(f.elf_, shstrndx, sh.sh_name) : nullptr;
    if (sh.sh_type != SHT_NOBITS && (sh.sh_size > f.map_size_ || sh.sh_offset > f.map_size_ - sh.sh_size))
      continue;  // truncated: ignore the section rather than read past the end
    f.sections_.push_back({n ? n : "", sh.sh_addr, sh.sh_offset, sh.sh_size, sh.sh_type});
    if (sh.sh_type == SHT_SYMTAB) f.has_symtab_ = true;
  }
  f.load_relocations();
  return f;
}

void ElfFile::load_relocations() {
  if (!is_pie_) return;
  // Through PT_DYNAMIC (DT_RELA/DT_RELASZ), so that it works without section headers.
  size_t phnum = 0;
  if (elf_getphdrnum(elf_, &phnum) != 0) return;
  uint64_t rela = 0, relasz = 0;
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf_, static_cast<int>(i), &ph) || ph.p_type != PT_DYNAMIC) continue;
    if (ph.p_filesz > map_size_ || ph.p_offset > map_size_ - ph.p_filesz) return;
    for (uint64_t o = 0; o + 16 <= ph.p_filesz; o += 16) {
      const uint64_t tag = load_le64(map_ + ph.p_offset + o);
      const uint64_t val = load_le64(map_ + ph.p_offset + o + 8);
      if (tag == DT_NULL) break;
      if (tag == DT_RELA) rela = val;
      if (tag == DT_RELASZ) relasz = val;
    }
  }
  if (!rela || !relasz) return;
  auto table = vaddr_bytes(rela, relasz);
  if (table.empty()) return;
  for (size_t o = 0; o + 24 <= table.size(); o += 24) {
    const uint64_t r_offset = load_le64(table.data() + o);
    const uint64_t r_info = load_le64(table.data() + o + 8);
    const uint64_t r_addend = load_le64(table.data() + o + 16);
    if (ELF64_R_TYPE(r_info) == R_X86_64_RELATIVE) relative_relocs_.emplace_back(r_offset, r_addend);
  }
  std::sort(relative_relocs_.begin(), relative_relocs_.end());
}

ElfFile::ElfFile(ElfFile&& o) noexcept {
  *this = std::move(o);
}

ElfFile& ElfFile::operator=(ElfFile&& o) noexcept {
  if (this != &o) {
    close();
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    elf_ = std::exchange(o.elf_, nullptr);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
    is_pie_ = o.is_pie_;
    has_symtab_ = o.has_symtab_;
    segments_ = std::move(o.segments_);
    sections_ = std::move(o.sections_);
    relative_relocs_ = std::move(o.relative_relocs_);
  }
  return *this;
}

ElfFile::~ElfFile() {
  close();
}

void ElfFile::close() {
  if (elf_) elf_end(elf_);
  if (map_) munmap(const_cast<uint8_t*>(map_), map_size_);
  if (fd_ >= 0) ::close(fd_);
  elf_ = nullptr;
  map_ = nullptr;
  map_size_ = 0;
  fd_ = -1;
}

std::optional<ElfSection> ElfFile::find_section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return s;
  return std::nullopt;
}

namespace {

// Calls visit(name, symbol) for every named .symtab entry until it returns true.
template <typename Visit>
void for_each_symtab_symbol(Elf* elf, Visit&& visit) {
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; i++) {
      GElf_Sym s;
      if (!gelf_getsym(data, static_cast<int>(i), &s)) continue;
      const char* n = elf_strptr(elf, sh.sh_link, s.st_name);
      if (n && visit(std::string_view(n), s)) return;
    }
  }
}

std::optional<ElfSymbol> scan_symtab(Elf* elf, std::string_view name, bool functions_only) {
  std::optional<ElfSymbol> found;
  for_each_symtab_symbol(elf, [&](std::string_view n, const GElf_Sym& s) {
    if ((functions_only && GELF_ST_TYPE(s.st_info) != STT_FUNC) || n != name) return false;
    found = ElfSymbol{std::string(n), s.st_value, s.st_size};
    return true;
  });
  return found;
}

}  // namespace

std::optional<ElfSymbol> ElfFile::find_function(std::string_view name) const {
  return scan_symtab(elf_, name, true);
}

std::optional<ElfSymbol> ElfFile::find_symbol(std::string_view name) const {
  return scan_symtab(elf_, name, false);
}

std::vector<ElfSymbol> ElfFile::object_symbols() const {
  std::vector<ElfSymbol> out;
  for_each_symtab_symbol(elf_, [&](std::string_view n, const GElf_Sym& s) {
    if (GELF_ST_TYPE(s.st_info) == STT_OBJECT) out.push_back({std::string(n), s.st_value, s.st_size});
    return false;
  });
  return out;
}

Expected<uint64_t> ElfFile::vaddr_to_file_offset(uint64_t vaddr) const {
  for (const auto& seg : segments_) {
    if (vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.filesz) return vaddr - seg.vaddr + seg.offset;
  }
  return make_error(path_ + ": address " + hex(vaddr) + " is not in any loadable segment of the file");
}

std::span<const uint8_t> ElfFile::vaddr_bytes(uint64_t vaddr, uint64_t size) const {
  for (const auto& seg : segments_) {
    if (vaddr < seg.vaddr || vaddr >= seg.vaddr + seg.filesz) continue;
    const uint64_t rel = vaddr - seg.vaddr;
    if (size > seg.filesz - rel) return {};
    return {map_ + seg.offset + rel, static_cast<size_t>(size)};
  }
  return {};
}

Expected<std::vector<uint8_t>> ElfFile::read_vaddr(uint64_t vaddr, uint64_t size) const {
  GS_TRY(uint64_t off, vaddr_to_file_offset(vaddr));
  (void)off;
  auto b = vaddr_bytes(vaddr, size);
  if (b.size() != size)
    return make_error(path_ + ": range at " + hex(vaddr) + " is truncated or spans segments");
  return std::vector<uint8_t>(b.begin(), b.end());
}

std::optional<uint64_t> ElfFile::read_pointer(uint64_t vaddr) const {
  if (!relative_relocs_.empty()) {
    auto it = std::lower_bound(relative_relocs_.begin(), relative_relocs_.end(),
                               std::make_pair(vaddr, uint64_t{0}));
    if (it != relative_relocs_.end() && it->first == vaddr) return it->second;
  }
  auto b = vaddr_bytes(vaddr, 8);
  if (b.size() != 8) return std::nullopt;
  return load_le64(b.data());
}

std::string ElfFile::build_id() const {
  for (const char* name : {".note.gnu.build-id", ".note.go.buildid"}) {
    auto sec = find_section(name);
    if (!sec || sec->size < 12 || sec->offset + sec->size > bytes().size()) continue;
    const uint8_t* p = bytes().data() + sec->offset;
    auto u32 = [&](size_t at) { return uint32_t(p[at]) | uint32_t(p[at + 1]) << 8 | uint32_t(p[at + 2]) << 16 | uint32_t(p[at + 3]) << 24; };
    const uint32_t namesz = u32(0), descsz = u32(4);
    const uint64_t desc = 12 + ((uint64_t(namesz) + 3) & ~uint64_t(3));
    if (desc + descsz > sec->size) continue;
    if (std::string(name) == ".note.gnu.build-id") return hex_bytes(p + desc, descsz);
    return std::string(reinterpret_cast<const char*>(p + desc), descsz);
  }
  return "";
}

}  // namespace goscope::sym

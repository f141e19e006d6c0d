// Error values for library boundaries: a function that can fail for reasons
// the user must hear about returns Expected<T>. libbpf's -errno / NULL+errno
// conventions are converted into an Error once, where they are called.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace goscope {

struct Error {
  std::string message;  // complete sentence for the user: what failed, and what to do
  int sys_errno = 0;    // errno behind it, when there is one

  static Error from_errno(std::string what, int err) {
    if (err < 0) err = -err;
    return Error{std::move(what) + ": " + std::strerror(err), err};
  }
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Expected(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error&& take_error() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message) {
  return Error{std::move(message), 0};
}

}  // namespace goscope

// GS_TRY(auto x, expr): evaluates expr (an Expected); returns its error from the
// enclosing function, or declares x bound to the value.
#define GS_CONCAT_INNER(a, b) a##b
#define GS_CONCAT(a, b) GS_CONCAT_INNER(a, b)
#define GS_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                 \
  if (!tmp) return tmp.take_error(); \
  decl = std::move(*tmp)
#define GS_TRY(decl, expr) GS_TRY_IMPL(GS_CONCAT(gs_try_, __LINE__), decl, expr)
// GS_CHECK(expr): for Expected<void>.
#define GS_CHECK(expr)                             \
  do {                                             \
    auto gs_check_ = (expr);                       \
    if (!gs_check_) return gs_check_.take_error(); \
  } while (0)

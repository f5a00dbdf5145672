#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

// Glob patterns as Centrifugo compiles them with Go's gobwas/glob v0.2.3 without separators:
// the server API `channels` method (server-api.md §1.7.11) and `allowed_origins`
// (reference.md §1.2). `*` (and `**`) match any run of
// characters, `?` one character, `[abc]` `[!abc]` `[a-z]` `[!a-z]` one character of a class,
// `{a,b}` one of the alternatives (nested patterns allowed), `\` escapes the next character.
// Characters are UTF-8 runes. Immutable once compiled: thread-safe.
namespace gyre {

class Glob {
 public:
  // Returns nullopt for an invalid pattern (-> API error 100). Invalid: a malformed character
  // class (`[`, `[]`, `[!]`, `[a-]`, `[z-a]`, `[ab` ...), invalid UTF-8, and an unclosed `{`
  // (gobwas/glob accepts it at compile time but panics when matching).
  [[nodiscard]] static std::optional<Glob> compile(std::string_view pattern);

  // True when the whole of `s` matches. The NFA simulation visits at most states() states per
  // rune, whatever the pattern: no backtracking blow-up. `steps`, when given, is increased by
  // the number of states visited (a deterministic measure of the work, for tests).
  bool match(std::string_view s, size_t* steps = nullptr) const;
  size_t states() const { return states_.size(); }

 private:
  // A Thompson NFA: states consume one rune or branch without consuming.
  enum class Op : uint8_t { kRune, kAnyRune, kClass, kSplit, kMatch };
  struct State {
    State() = default;
    explicit State(Op o) : op(o) {}
    Op op = Op::kMatch;
    bool negate = false;       // kClass: [!...]
    char32_t rune = 0;         // kRune
    uint32_t next = 0;         // consuming states: the state after the rune
    std::vector<char32_t> chars;                      // kClass list
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass ranges
    std::vector<uint32_t> out;  // kSplit targets
  };
  class Parser;

  void add_closure(uint32_t s, std::vector<uint32_t>& set, std::vector<uint32_t>& mark,
                   uint32_t gen) const;

  std::vector<State> states_;
  uint32_t start_ = 0;
};

}  // namespace gyre

#include "core/glob.h"

#include <algorithm>

namespace gyre {
namespace {

constexpr char32_t kRuneError = 0xFFFD;

// Decodes the UTF-8 rune at s[i] like Go's utf8.DecodeRuneInString: an invalid or
// truncated sequence (overlong, surrogate, > U+10FFFF) gives U+FFFD with width 1.
size_t decode_rune(std::string_view s, size_t i, char32_t& r) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) {
    r = c;
    return 1;
  }
  size_t n = 0;
  char32_t v = 0;
  char32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    r = kRuneError;
    return 1;
  }
  if (i + n > s.size()) {
    r = kRuneError;
    return 1;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) {
      r = kRuneError;
      return 1;
    }
    v = (v << 6) | (b(k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    r = kRuneError;
    return 1;
  }
  r = v;
  return n;
}

// Pattern AST.
struct Node;
using Seq = std::vector<Node>;
struct Node {
  enum class Kind { kRune, kAny, kSingle, kClass, kAlt };
  explicit Node(Kind k) : kind(k) {}
  Kind kind;
  char32_t rune = 0;
  bool negate = false;
  std::vector<char32_t> chars;
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::vector<Seq> alts;
};

}  // namespace

// Recursive-descent parser reproducing the gobwas/glob v0.2.3 lexer and parser decisions.
class Glob::Parser {
 public:
  explicit Parser(std::vector<char32_t> p) : p_(std::move(p)) {}

  bool parse(Seq& out) { return parse_seq(0, out) && i_ == p_.size(); }

 private:
  bool at_end() const { return i_ >= p_.size(); }

  bool parse_seq(int depth, Seq& out) {
    while (!at_end()) {
      char32_t c = p_[i_];
      if (depth > 0 && (c == ',' || c == '}')) {
        return true;
      }
      if (c == '{') {
        ++i_;
        Node alt{Node::Kind::kAlt};
        while (true) {
          Seq s;
          if (!parse_seq(depth + 1, s)) {
            return false;
          }
          alt.alts.push_back(std::move(s));
          if (at_end()) {
            return false;  // unclosed '{'
          }
          if (p_[i_++] == '}') {
            break;
          }  // else ','
        }
        out.push_back(std::move(alt));
      } else if (c == '[') {
        ++i_;
        Node cls{Node::Kind::kClass};
        if (!parse_class(cls)) {
          return false;
        }
        out.push_back(std::move(cls));
      } else if (c == '?') {
        ++i_;
        out.push_back(Node{Node::Kind::kSingle});
      } else if (c == '*') {
        ++i_;
        if (!at_end() && p_[i_] == '*') {
          ++i_;  // `**` (super) is `*` without separators
        }
        out.push_back(Node{Node::Kind::kAny});
      } else {
        std::vector<char32_t> text;
        if (depth > 0) {
          read_text(text, U"?*[{},");
        } else {
          read_text(text, U"?*[{");
        }
        for (char32_t r : text) {
          Node n{Node::Kind::kRune};
          n.rune = r;
          out.push_back(std::move(n));
        }
      }
    }
    return true;
  }

  // Literal characters up to a breaker; `\x` is x; a trailing `\` is dropped.
  void read_text(std::vector<char32_t>& out, std::u32string_view breakers) {
    bool escaped = false;
    while (!at_end()) {
      char32_t r = p_[i_];
      if (!escaped) {
        if (r == '\\') {
          escaped = true;
          ++i_;
          continue;
        }
        if (breakers.find(r) != std::u32string_view::npos) {
          return;
        }
      }
      escaped = false;
      out.push_back(r);
      ++i_;
    }
  }

  // After '['.
  bool parse_class(Node& cls) {
    bool seen_not = false;
    while (true) {
      if (at_end()) {
        return false;
      }
      char32_t r = p_[i_++];
      if (!seen_not && r == '!') {
        cls.negate = true;
        seen_not = true;
        continue;
      }
      if (!at_end() && p_[i_] == '-') {
        ++i_;
        if (at_end()) {
          return false;
        }
        char32_t hi = p_[i_++];
        if (at_end() || p_[i_] != ']') {
          return false;
        }
        ++i_;
        if (hi < r) {
          return false;
        }
        cls.ranges.emplace_back(r, hi);
        return true;
      }
      --i_;
      read_text(cls.chars, U"]");
      if (at_end()) {
        return false;
      }
      ++i_;  // ']'
      return !cls.chars.empty();
    }
  }

  std::vector<char32_t> p_;
  size_t i_ = 0;
};

std::optional<Glob> Glob::compile(std::string_view pattern) {
  std::vector<char32_t> runes;
  for (size_t i = 0; i < pattern.size();) {
    char32_t r;
    i += decode_rune(pattern, i, r);
    if (r == kRuneError) {
      return std::nullopt;  // v0.2.3: "could not read rune"
    }
    if (r == 0) {
      break;  // v0.2.3 treats U+0000 as the end of input
    }
    runes.push_back(r);
  }
  Seq ast;
  Parser parser(std::move(runes));
  if (!parser.parse(ast)) {
    return std::nullopt;
  }

  Glob g;
  g.states_.push_back(State{Op::kMatch});
  // Compiles `seq` so that it continues at `next`; returns its entry state. Built backwards.
  auto compile_seq = [&g](auto& self, const Seq& seq, uint32_t next) -> uint32_t {
    auto add = [&g](State s) {
      g.states_.push_back(std::move(s));
      return static_cast<uint32_t>(g.states_.size() - 1);
    };
    for (auto it = seq.rbegin(); it != seq.rend(); ++it) {
      const Node& n = *it;
      switch (n.kind) {
        case Node::Kind::kRune: {
          State s{Op::kRune};
          s.rune = n.rune;
          s.next = next;
          next = add(std::move(s));
          break;
        }
        case Node::Kind::kSingle: {
          State s{Op::kAnyRune};
          s.next = next;
          next = add(std::move(s));
          break;
        }
        case Node::Kind::kClass: {
          State s{Op::kClass};
          s.negate = n.negate;
          s.chars = n.chars;
          s.ranges = n.ranges;
          s.next = next;
          next = add(std::move(s));
          break;
        }
        case Node::Kind::kAny: {
          uint32_t split = add(State{Op::kSplit});
          State loop{Op::kAnyRune};
          loop.next = split;
          uint32_t l = add(std::move(loop));
          g.states_[split].out = {l, next};
          next = split;
          break;
        }
        case Node::Kind::kAlt: {
          std::vector<uint32_t> outs;
          for (const Seq& a : n.alts) {
            outs.push_back(self(self, a, next));
          }
          State s{Op::kSplit};
          s.out = std::move(outs);
          next = add(std::move(s));
          break;
        }
      }
    }
    return next;
  };
  g.start_ = compile_seq(compile_seq, ast, 0);
  return g;
}

void Glob::add_closure(uint32_t s, std::vector<uint32_t>& set, std::vector<uint32_t>& mark,
                       uint32_t gen) const {
  if (mark[s] == gen) {
    return;
  }
  mark[s] = gen;
  if (states_[s].op == Op::kSplit) {
    for (uint32_t o : states_[s].out) {
      add_closure(o, set, mark, gen);
    }
    return;
  }
  set.push_back(s);
}

bool Glob::match(std::string_view s, size_t* steps) const {
  std::vector<uint32_t> mark(states_.size(), 0);
  uint32_t gen = 1;
  std::vector<uint32_t> cur;
  std::vector<uint32_t> nxt;
  add_closure(start_, cur, mark, gen);
  for (size_t i = 0; i < s.size() && !cur.empty();) {
    char32_t r;
    i += decode_rune(s, i, r);
    ++gen;
    nxt.clear();
    if (steps != nullptr) {
      *steps += cur.size();
    }
    for (uint32_t id : cur) {
      const State& st = states_[id];
      bool ok = false;
      switch (st.op) {
        case Op::kRune:
          ok = st.rune == r;
          break;
        case Op::kAnyRune:
          ok = true;
          break;
        case Op::kClass: {
          bool in = std::find(st.chars.begin(), st.chars.end(), r) != st.chars.end();
          for (const auto& [lo, hi] : st.ranges) {
            in = in || (r >= lo && r <= hi);
          }
          ok = in != st.negate;
          break;
        }
        default:
          break;
      }
      if (ok) {
        add_closure(st.next, nxt, mark, gen);
      }
    }
    cur.swap(nxt);
  }
  return std::any_of(cur.begin(), cur.end(),
                     [this](uint32_t id) { return states_[id].op == Op::kMatch; });
}

}  // namespace gyre

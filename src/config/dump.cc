#include "config/dump.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include "config/internal.h"
#include "config/schema.h"
#include "core/ascii.h"
#include "protocol/json_writer.h"

namespace gyre::config {
namespace {

using schema::FieldRef;
using schema::Type;

Value transforms_value(const CodeTransforms& t, Type type) {
  Value out = Value::make_object();
  out.fields.emplace_back("enabled", Value::make_bool(t.enabled));
  Value list = Value::make_array();
  for (const auto& item : t.transforms) {
    Value entry = Value::make_object();
    entry.fields.emplace_back("code", Value::make_int(item.code));
    Value to = Value::make_object();
    if (type == Type::kDisconnectTransforms) {
      to.fields.emplace_back("code", Value::make_int(item.to_code));
      to.fields.emplace_back("reason", Value::make_string(item.to_reason));
    } else {
      to.fields.emplace_back("status_code", Value::make_int(item.to_status_code));
      to.fields.emplace_back("body", Value::make_string(item.to_body));
    }
    entry.fields.emplace_back("to", std::move(to));
    list.items.push_back(std::move(entry));
  }
  out.fields.emplace_back("transforms", std::move(list));
  return out;
}

Value field_value(const FieldRef& ref, Type type, Shape shape) {
  return std::visit(
      [type, shape](auto* p) -> Value {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          return Value::make_bool(*p);
        } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>) {
          return Value::make_int(*p);
        } else if constexpr (std::is_same_v<T, std::string>) {
          // v6 ports are integers (v6-config.md §2.4, http_server.port).
          if (type == Type::kPort && shape == Shape::kV6 && !p->empty() &&
              std::ranges::all_of(*p, [](char c) { return c >= '0' && c <= '9'; }) &&
              p->size() < 10) {
            return Value::make_int(std::stoll(*p));
          }
          return Value::make_string(*p);
        } else if constexpr (std::is_same_v<T, Duration>) {
          return Value::make_string(internal::format_duration(*p));
        } else if constexpr (std::is_same_v<T, CodeTransforms>) {
          return transforms_value(*p, type);
        } else if constexpr (std::is_same_v<T, Value>) {
          return *p;
        } else {
          Value list = Value::make_array();
          for (const auto& s : *p) {
            list.items.push_back(Value::make_string(s));
          }
          return list;
        }
      },
      ref);
}

Value* find_field(Value& object, std::string_view key) {
  for (auto& [k, v] : object.fields) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

// Sets `value` at dotted `path`, creating objects on the way (first-seen order).
void set_path(Value& root, std::string_view path, Value value) {
  Value* node = &root;
  while (true) {
    size_t dot = path.find('.');
    std::string_view head = path.substr(0, dot);
    Value* child = find_field(*node, head);
    if (dot == std::string_view::npos) {
      if (child != nullptr) {
        *child = std::move(value);
      } else {
        node->fields.emplace_back(std::string(head), std::move(value));
      }
      return;
    }
    if (child == nullptr) {
      node->fields.emplace_back(std::string(head), Value::make_object());
      child = &node->fields.back().second;
    }
    node = child;
    path.remove_prefix(dot + 1);
  }
}

Value channel_options_value(const ChannelOptions& options, Shape shape) {
  Value out = Value::make_object();
  for (const auto& spec : schema::channel_keys()) {
    if (spec.top_level_only) {
      continue;  // an alias of another key
    }
    std::string_view name = shape == Shape::kV6 ? spec.v6 : spec.name;
    if (name.empty()) {
      continue;
    }
    Value v = field_value(schema::bind(const_cast<ChannelOptions&>(options), spec.member),
                          spec.type, shape);
    // v6: an empty proxy name is the unnamed proxy, "default" (v6-config.md §2.5).
    if (shape == Shape::kV6 && name.ends_with("_proxy_name") && v.string.empty()) {
      v.string = "default";
    }
    out.fields.emplace_back(std::string(name), std::move(v));
  }
  return out;
}

Value namespaces_value(const std::vector<Namespace>& namespaces, Shape shape) {
  Value list = Value::make_array();
  for (const auto& ns : namespaces) {
    Value item = Value::make_object();
    item.fields.emplace_back("name", Value::make_string(ns.name));
    Value options = channel_options_value(ns.options, shape);
    for (auto& field : options.fields) {
      item.fields.push_back(std::move(field));
    }
    list.items.push_back(std::move(item));
  }
  return list;
}

// ---- renderers

// Pretty-printed with two-space indentation; indent < 0: compact, on one line.
void json_value(std::string& out, const Value& v, int indent) {
  const bool compact = indent < 0;
  std::string pad = compact ? "" : std::string(static_cast<size_t>(indent + 2), ' ');
  std::string close = compact ? "" : std::string(static_cast<size_t>(indent), ' ');
  const char* open_array = compact ? "[" : "[\n";
  const char* open_object = compact ? "{" : "{\n";
  const char* next = compact ? "," : ",\n";
  const char* last = compact ? "" : "\n";
  const int inner = compact ? -1 : indent + 2;
  switch (v.kind) {
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.boolean ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.integer);
      return;
    case Value::Kind::kDouble:
      out += fmt::format("{}", v.number);
      return;
    case Value::Kind::kString:
      protocol::JsonWriter::append_escaped(out, v.string);
      return;
    case Value::Kind::kArray:
      if (v.items.empty()) {
        out += "[]";
        return;
      }
      out += open_array;
      for (size_t i = 0; i < v.items.size(); ++i) {
        out += pad;
        json_value(out, v.items[i], inner);
        out += i + 1 < v.items.size() ? next : last;
      }
      out += close + "]";
      return;
    case Value::Kind::kObject:
      if (v.fields.empty()) {
        out += "{}";
        return;
      }
      out += open_object;
      for (size_t i = 0; i < v.fields.size(); ++i) {
        out += pad;
        protocol::JsonWriter::append_escaped(out, v.fields[i].first);
        out += compact ? ":" : ": ";
        json_value(out, v.fields[i].second, inner);
        out += i + 1 < v.fields.size() ? next : last;
      }
      out += close + "}";
      return;
  }
}

void yaml_value(YAML::Emitter& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      out << YAML::Null;
      return;
    case Value::Kind::kBool:
      out << v.boolean;
      return;
    case Value::Kind::kInt:
      out << v.integer;
      return;
    case Value::Kind::kDouble:
      out << v.number;
      return;
    case Value::Kind::kString:
      out << YAML::DoubleQuoted << v.string;
      return;
    case Value::Kind::kArray:
      out << (v.items.empty() ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
      for (const auto& item : v.items) {
        yaml_value(out, item);
      }
      out << YAML::EndSeq;
      return;
    case Value::Kind::kObject:
      out << (v.fields.empty() ? YAML::Flow : YAML::Block) << YAML::BeginMap;
      for (const auto& [key, value] : v.fields) {
        out << YAML::Key << key << YAML::Value;
        yaml_value(out, value);
      }
      out << YAML::EndMap;
      return;
  }
}

void toml_insert(toml::table& table, const std::string& key, const Value& v);

void toml_push(toml::array& array, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return;  // TOML has no null; load() treats a missing key as unset too
    case Value::Kind::kBool:
      array.push_back(v.boolean);
      return;
    case Value::Kind::kInt:
      array.push_back(v.integer);
      return;
    case Value::Kind::kDouble:
      array.push_back(v.number);
      return;
    case Value::Kind::kString:
      array.push_back(v.string);
      return;
    case Value::Kind::kArray: {
      toml::array inner;
      for (const auto& item : v.items) {
        toml_push(inner, item);
      }
      array.push_back(std::move(inner));
      return;
    }
    case Value::Kind::kObject: {
      toml::table inner;
      for (const auto& [key, value] : v.fields) {
        toml_insert(inner, key, value);
      }
      array.push_back(std::move(inner));
      return;
    }
  }
}

void toml_insert(toml::table& table, const std::string& key, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return;
    case Value::Kind::kBool:
      table.insert_or_assign(key, v.boolean);
      return;
    case Value::Kind::kInt:
      table.insert_or_assign(key, v.integer);
      return;
    case Value::Kind::kDouble:
      table.insert_or_assign(key, v.number);
      return;
    case Value::Kind::kString:
      table.insert_or_assign(key, v.string);
      return;
    case Value::Kind::kArray: {
      toml::array array;
      for (const auto& item : v.items) {
        toml_push(array, item);
      }
      table.insert_or_assign(key, std::move(array));
      return;
    }
    case Value::Kind::kObject: {
      toml::table inner;
      for (const auto& [k, value] : v.fields) {
        toml_insert(inner, k, value);
      }
      table.insert_or_assign(key, std::move(inner));
      return;
    }
  }
}

// ---- defaultenv

std::string env_name(std::string_view path) {
  std::string out = "CENTRIFUGO_";
  for (char c : path) {
    out += c == '.' || c == '-' ? '_' : (c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out;
  protocol::JsonWriter::append_escaped(out, s);
  return out;
}

std::string env_value(const FieldRef& ref, Type type) {
  return std::visit(
      [type](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t>) {
          return std::to_string(*p);
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (type == Type::kPort && !p->empty()) {
            return *p;
          }
          return quoted(*p);
        } else if constexpr (std::is_same_v<T, Duration>) {
          return internal::format_duration(*p);
        } else if constexpr (std::is_same_v<T, CodeTransforms>) {
          return "";  // rendered field by field by the caller
        } else if constexpr (std::is_same_v<T, Value>) {
          std::string json;
          json_value(json, *p, -1);
          return quoted(json);
        } else {
          if (p->empty()) {
            return quoted("");  // as centrifugo defaultenv prints an empty list
          }
          std::string out;
          for (size_t i = 0; i < p->size(); ++i) {
            out += (i ? " " : "") + quoted((*p)[i]);
          }
          return out;
        }
      },
      ref);
}

void env_channel_lines(std::vector<std::string>& lines, const std::string& prefix,
                       const ChannelOptions& options) {
  for (const auto& spec : schema::channel_keys()) {
    if (spec.v6.empty()) {
      continue;
    }
    std::string value =
        env_value(schema::bind(const_cast<ChannelOptions&>(options), spec.member), spec.type);
    if (spec.v6.ends_with("_proxy_name") && value == "\"\"") {
      value = "\"default\"";
    }
    lines.push_back(fmt::format("{}_{}={}", prefix, env_name(spec.v6).substr(11), value));
  }
}

}  // namespace

Format format_for_path(const std::string& path) {
  std::string ext = ascii_lower(std::string_view(path).substr(
      path.rfind('.') == std::string::npos ? path.size() : path.rfind('.')));
  if (ext == ".json") {
    return Format::kJson;
  }
  if (ext == ".yaml" || ext == ".yml") {
    return Format::kYaml;
  }
  if (ext == ".toml") {
    return Format::kToml;
  }
  throw ConfigError(fmt::format(
      "config: \"{}\": unknown extension \"{}\" (use .json, .yaml, .yml or .toml)", path, ext));
}

Value config_tree(const Config& config, Shape shape) {
  Config& c = const_cast<Config&>(config);  // bind() needs a mutable owner; nothing is written
  Value root = Value::make_object();
  auto put = [&](std::string_view key, Value v) {
    if (shape == Shape::kV6) {
      set_path(root, key, std::move(v));
    } else {
      root.fields.emplace_back(std::string(key), std::move(v));
    }
  };
  for (const auto& spec : schema::global_keys()) {
    std::string_view key = shape == Shape::kV6 ? spec.v6 : spec.name;
    if (key.empty()) {
      continue;
    }
    if (spec.type == Type::kNamespaces) {
      if (shape == Shape::kV5) {
        // v5: top-level channel options and token keys come before the namespaces.
        for (auto [prefix, token] : {std::pair{schema::kTokenPrefix, &c.token},
                                     std::pair{schema::kSubscriptionTokenPrefix,
                                               &c.subscription_token}}) {
          for (const auto& t : schema::token_keys()) {
            put(fmt::format("{}{}", prefix, t.name),
                field_value(schema::bind(*token, t.member), t.type, shape));
          }
        }
        for (auto& field : channel_options_value(c.channel, shape).fields) {
          put(field.first, std::move(field.second));
        }
      } else {
        for (auto [block, token] : {std::pair{schema::kV6TokenBlock, &c.token},
                                    std::pair{schema::kV6SubscriptionTokenBlock,
                                              &c.subscription_token}}) {
          for (const auto& t : schema::token_keys()) {
            put(fmt::format("{}.{}", block, t.v6),
                field_value(schema::bind(*token, t.member), t.type, shape));
          }
        }
        put(schema::kV6ChannelBlock, channel_options_value(c.channel, shape));
      }
      put(key, namespaces_value(c.namespaces, shape));
      continue;
    }
    Value value = field_value(schema::bind(c, spec.member), spec.type, shape);
    if (shape == Shape::kV6 && key.ends_with(".proxy_name") && value.string.empty()) {
      value = Value::make_string("default");  // v6: the unnamed proxy
    }
    if (key == "http_server.internal_port" && value.kind == Value::Kind::kInt) {
      value = Value::make_string(std::to_string(value.integer));  // still a string in v6 (§2.4)
    }
    put(key, std::move(value));
  }
  if (shape == Shape::kV6) {
    // Centrifugo v6's block order (v6-config.md §5, defaultconfig).
    static constexpr std::string_view kOrder[] = {
        "http_server", "log",       "engine",        "broker",      "presence_manager",
        "map_broker",  "controller", "shared_poll",  "client",      "channel",
        "rpc",         "proxies",   "http_api",      "grpc_api",    "consumers",
        "websocket",   "sse",       "http_stream",   "webtransport", "uni_sse",
        "uni_http_stream", "uni_websocket", "uni_grpc", "emulation", "admin",
        "prometheus",  "health",    "swagger",       "debug",       "init",
        "opentelemetry", "graphite", "usage_stats",  "node",        "shutdown",
        "pid_file",    "enable_unreleased_features",
    };
    auto rank = [](const std::string& key) {
      return std::ranges::find(kOrder, key) - std::ranges::begin(kOrder);
    };
    std::ranges::stable_sort(root.fields, {}, [&rank](const auto& f) { return rank(f.first); });
  }
  return root;
}

std::string render(const Value& tree, Format format) {
  switch (format) {
    case Format::kJson: {
      std::string out;
      json_value(out, tree, 0);
      return out + "\n";
    }
    case Format::kYaml: {
      YAML::Emitter out;
      yaml_value(out, tree);
      return std::string(out.c_str()) + "\n";
    }
    case Format::kToml: {
      toml::table table;
      for (const auto& [key, value] : tree.fields) {
        toml_insert(table, key, value);
      }
      std::ostringstream out;
      out << table << "\n";
      return out.str();
    }
  }
  return "";
}

std::string render_env(const Config& config) {
  Config& c = const_cast<Config&>(config);
  std::vector<std::string> lines;
  for (const auto& spec : schema::global_keys()) {
    // v6 proxy objects have only leaf variables in Centrifugo (not read by Gyre yet).
    if (spec.v6.empty() || (spec.type == Type::kJson && spec.name.empty())) {
      continue;
    }
    std::string name = env_name(spec.v6);
    if (spec.type == Type::kNamespaces) {
      std::string names;
      for (const auto& ns : c.namespaces) {
        names += (names.empty() ? "" : " ") + ns.name;
        std::string prefix = env_name(fmt::format("{}.{}", spec.v6, ns.name));
        lines.push_back(fmt::format("{}_NAME={}", prefix, quoted(ns.name)));
        env_channel_lines(lines, prefix, ns.options);
      }
      lines.push_back(fmt::format("{}={}", name, quoted(names)));
      continue;
    }
    FieldRef ref = schema::bind(c, spec.member);
    if (auto* t = std::get_if<CodeTransforms*>(&ref)) {
      Value v = transforms_value(**t, spec.type);
      std::string json;
      json_value(json, v.fields[1].second, -1);
      lines.push_back(fmt::format("{}_ENABLED={}", name, (*t)->enabled ? "true" : "false"));
      lines.push_back(fmt::format("{}_TRANSFORMS={}", name, quoted(json)));
      continue;
    }
    std::string value = env_value(ref, spec.type);
    if (spec.v6.ends_with(".proxy_name") && value == "\"\"") {
      value = "\"default\"";  // v6: "" is the unnamed proxy, `default`
    }
    if (spec.v6 == "http_server.internal_port" && !value.starts_with('"')) {
      value = quoted(value);  // still a string in v6 (§2.4)
    }
    lines.push_back(fmt::format("{}={}", name, value));
  }
  for (auto [block, token] :
       {std::pair{schema::kV6TokenBlock, &c.token},
        std::pair{schema::kV6SubscriptionTokenBlock, &c.subscription_token}}) {
    for (const auto& t : schema::token_keys()) {
      lines.push_back(fmt::format("{}={}", env_name(fmt::format("{}.{}", block, t.v6)),
                                  env_value(schema::bind(*token, t.member), t.type)));
    }
  }
  env_channel_lines(lines, env_name(schema::kV6ChannelBlock), c.channel);
  std::ranges::sort(lines);
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

}  // namespace gyre::config

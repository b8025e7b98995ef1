#include "engine/scoring/params_json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "engine/config/yaml_reader.h"

namespace leadscore::scoring {
namespace {

using config::Position;

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

bool parses_whole(std::string_view text, auto& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc{} && ptr == end;
}

// A plain scalar as YAML's core schema reads it, written as JSON.
std::string plain_scalar_json(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return "true";
  if (text == "false" || text == "False" || text == "FALSE") return "false";
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  const bool numeric_start =
      !digits.empty() && (std::isdigit(static_cast<unsigned char>(digits.front())) ||
                          digits.front() == '-' || digits.front() == '.');
  if (numeric_start) {
    std::int64_t integer = 0;
    if (parses_whole(digits, integer)) return std::to_string(integer);
    double number = 0;
    if (parses_whole(digits, number) && std::isfinite(number)) {
      char buffer[32];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
      if (ec == std::errc{}) return std::string(buffer, end);
    }
  }
  std::string out;
  append_json_string(out, text);
  return out;
}

// NAME of `${NAME}` or `${NAME:-default}`, and the default (nullopt: none), when `text` is
// one of them as a whole.
struct EnvironmentReference {
  std::string name;
  std::optional<std::string> fallback;
};

std::optional<EnvironmentReference> environment_reference(std::string_view text) {
  if (!text.starts_with("${") || !text.ends_with('}')) return std::nullopt;
  text = text.substr(2, text.size() - 3);
  EnvironmentReference out;
  const std::size_t separator = text.find(":-");
  out.name = std::string(text.substr(0, separator));
  if (separator != std::string_view::npos) out.fallback = std::string(text.substr(separator + 2));
  const auto name_char = [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (out.name.empty() || (out.name[0] >= '0' && out.name[0] <= '9') ||
      !std::ranges::all_of(out.name, name_char))
    return std::nullopt;
  return out;
}

class JsonWriter {
 public:
  JsonWriter(ParamsJson& out, const Environment& environment)
      : out_(out), environment_(environment) {}

  void value(const YAML::Node& node, Position fallback) {
    const Position at = config::value_position(node, fallback);
    if (node.IsMap()) {
      line("{", at);
      bool first = true;
      for (const auto& entry : node) {
        if (!first) out_.text += ',';
        first = false;
        std::string key;
        append_json_string(key, entry.first.IsScalar() ? entry.first.Scalar() : std::string());
        key += ':';
        const Position key_at = config::value_position(entry.first, at);
        line(key, key_at);
        value(entry.second, key_at);
      }
      out_.text += '}';
    } else if (node.IsSequence()) {
      line("[", at);
      bool first = true;
      for (const auto& item : node) {
        if (!first) out_.text += ',';
        first = false;
        value(item, at);
      }
      out_.text += ']';
    } else if (node.IsScalar()) {
      const std::string text = expand(node.Scalar(), at);
      if (node.Tag() == "?") {
        line(plain_scalar_json(text), at);
      } else {
        std::string json;
        append_json_string(json, text);
        line(json, at);
      }
    } else {
      line("null", at);
    }
  }

 private:
  std::string expand(const std::string& text, Position at) {
    const auto reference = environment_reference(text);
    if (!reference) return text;
    if (auto value = environment_(reference->name)) return *value;
    if (reference->fallback) return *reference->fallback;
    out_.problems.push_back({at, "the environment variable " + reference->name +
                                     " is not set and " + text + " gives no default (${" +
                                     reference->name + ":-default} gives one)"});
    return std::string();
  }

  void line(std::string_view text, Position at) {
    if (!out_.lines.empty()) out_.text += '\n';
    out_.text += text;
    out_.lines.push_back(at);
  }

  ParamsJson& out_;
  const Environment& environment_;
};

}  // namespace

Position ParamsJson::position_of_line(int line) const {
  if (line >= 1 && static_cast<std::size_t>(line) <= lines.size()) return lines[line - 1];
  return lines.empty() ? Position{} : lines.front();
}

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

ParamsJson params_to_json(const YAML::Node& params, Position where,
                          const Environment& environment) {
  ParamsJson out;
  if (!params.IsDefined() || params.IsNull() || !params.IsMap()) {
    out.text = "{}";
    out.lines.push_back(where);
    return out;
  }
  JsonWriter(out, environment).value(params, where);
  out.lines.front() = where;  // the object itself: point at the `params` key
  return out;
}

std::vector<PluginMessage> split_plugin_messages(std::string_view messages) {
  std::vector<PluginMessage> out;
  while (!messages.empty()) {
    const std::size_t end = messages.find('\n');
    std::string_view line = messages.substr(0, end);
    messages = end == std::string_view::npos ? std::string_view{} : messages.substr(end + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    PluginMessage message;
    // "LINE:COLUMN: text"
    int number = 0, column = 0;
    const char* begin = line.data();
    const char* stop = line.data() + line.size();
    auto [after_line, ec1] = std::from_chars(begin, stop, number);
    if (ec1 == std::errc{} && after_line < stop && *after_line == ':') {
      auto [after_column, ec2] = std::from_chars(after_line + 1, stop, column);
      if (ec2 == std::errc{} && stop - after_column >= 2 && after_column[0] == ':' &&
          after_column[1] == ' ' && number > 0) {
        message.line = number;
        line = std::string_view(after_column + 2, stop);
      }
    }
    message.text = std::string(line);
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace leadscore::scoring

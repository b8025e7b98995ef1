// The bare reference for `GET /leads/{id}`: a Pistache server that answers the route with one
// prepared libpq read of the lead's row and nothing else (no authentication, no request log, no
// screen in front of the parser, no worker pool). bench/http_bench.sh runs it beside leadscore,
// against the same database, so that leadscore's request path is measured against what the
// same library and the same query cost by themselves on the same machine at the same moment.
//
// Usage: bare_read_server PORT THREADS (DATABASE_URL names the database leadscore migrated).
// Each of the THREADS reactor threads reads on its own connection, opened on its first
// request, in the reactor itself (the read blocks that reactor's other connections meanwhile).
// The answer is the row as a JSON object of its columns, with Connection: keep-alive.
#include <libpq-fe.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/router.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace Pistache;

// The columns leadscore reads for a lead (engine/store/row_mapping.h), by the same statement.
constexpr const char* kReadLead =
    "SELECT id, source, stage, business_domain, activity_count, name, email, role, company,"
    " industry, location, bio, ai_score, ai_recommendation, ai_reason, ai_scorer,"
    " ai_scorer_version, leadscore_rfc3339(ai_analyzed_at) AS ai_analyzed_at,"
    " leadscore_rfc3339(created_at) AS created_at, leadscore_rfc3339(updated_at) AS updated_at,"
    " input_revision FROM leads WHERE id = $1::bigint";

// Columns written as JSON numbers; the others are strings (or null).
bool is_number_column(std::string_view name) {
  return name == "id" || name == "activity_count" || name == "ai_score" || name == "input_revision";
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

// This reactor thread's connection, with kReadLead prepared; null when it cannot connect.
PGconn* thread_connection() {
  thread_local PGconn* connection = nullptr;
  if (connection != nullptr && PQstatus(connection) == CONNECTION_OK) return connection;
  if (connection != nullptr) PQfinish(connection);
  const char* url = std::getenv("DATABASE_URL");
  connection = PQconnectdb(url ? url : "");
  if (PQstatus(connection) != CONNECTION_OK) return nullptr;
  PGresult* prepared = PQprepare(connection, "read_lead", kReadLead, 1, nullptr);
  const bool ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
  PQclear(prepared);
  return ok ? connection : nullptr;
}

void answer(Http::ResponseWriter& writer, Http::Code code, const std::string& body) {
  // Pistache 0.0.5 answers Connection: Close to a request without a Connection header (and
  // keeps the socket): replaced, or every client would reconnect per request.
  writer.headers().remove<Http::Header::Connection>();
  writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
  writer.send(code, body, MIME(Application, Json));
}

void read_lead(const Rest::Request& request, Http::ResponseWriter writer) {
  const std::string id = request.param(":id").as<std::string>();
  long long value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (ec != std::errc() || end != id.data() + id.size() || value < 1)
    return answer(writer, Http::Code::Bad_Request, R"({"error":"bad id"})");
  PGconn* connection = thread_connection();
  if (connection == nullptr)
    return answer(writer, Http::Code::Service_Unavailable, R"({"error":"no database"})");
  const char* params[] = {id.c_str()};
  PGresult* result = PQexecPrepared(connection, "read_lead", 1, params, nullptr, nullptr, 0);
  if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
    const bool missing = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
    return missing ? answer(writer, Http::Code::Not_Found, R"({"error":"not found"})")
                   : answer(writer, Http::Code::Internal_Server_Error, R"({"error":"failed"})");
  }
  std::string body = "{";
  for (int column = 0; column < PQnfields(result); ++column) {
    if (column > 0) body += ',';
    const std::string_view name = PQfname(result, column);
    append_json_string(body, name);
    body += ':';
    if (PQgetisnull(result, 0, column)) {
      body += "null";
    } else {
      const std::string_view text(PQgetvalue(result, 0, column),
                                  static_cast<std::size_t>(PQgetlength(result, 0, column)));
      if (is_number_column(name))
        body += text;
      else
        append_json_string(body, text);
    }
  }
  body += '}';
  PQclear(result);
  answer(writer, Http::Code::Ok, body);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bare_read_server PORT THREADS\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  const int threads = std::atoi(argv[2]);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // the reactor threads inherit the mask
  signal(SIGPIPE, SIG_IGN);

  Rest::Router router;
  Rest::Routes::Get(router, "/leads/:id", Rest::Routes::bind(&read_lead));
  Http::Endpoint endpoint(Address(IP::loopback(), Port(port)));
  endpoint.init(Http::Endpoint::options().threads(threads).flags(Tcp::Options::ReuseAddr));
  endpoint.setHandler(router.handler());
  endpoint.serveThreaded();
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  endpoint.shutdown();
  return 0;
}

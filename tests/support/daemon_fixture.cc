#include "support/daemon_fixture.h"

namespace herald::test {

const char* kPersonAddedMapping = R"(<?xml version="1.0" encoding="utf-8"?>
<Notification>
  <Endpoint Verb="PUT" URL="/people/{Event.PersonID}/added" />
  <Body>
    <Property JPath="person.id"><Source Retrieval="Event" Field="PersonID" /></Property>
    <Property JPath="person.name.first"><Source Retrieval="Event" Field="new.firstName" /></Property>
    <Property JPath="person.name.last"><Source Retrieval="Event" Field="new.lastName" /></Property>
    <Property JPath="person.nickname"><Source Retrieval="Event" Field="new.nickname" /></Property>
    <Property JPath="action"><Source Retrieval="Event" Field="action" /></Property>
    <Property JPath="origin"><Source Default="herald" /></Property>
  </Body>
</Notification>
)";

std::string write_scenario(const TempDir& dir, const Scenario& s) {
  create_producer_db(dir.file("producer.db"));
  write_file(dir.file("person_added.xml"), kPersonAddedMapping);
  std::string schedule;
  for (const auto& d : s.retry_schedule) schedule += (schedule.empty() ? "\"" : ", \"") + d + "\"";
  std::string toml = "[daemon]\nstate_db = \"state.db\"\nplugin_dir = \"" + s.plugin_dir +
                     "\"\nmapping_dir = \".\"\npoll_interval = \"" + s.poll_interval +
                     "\"\n\n"
                     "[outbox]\ndatabase = \"producer.db\"\n\n"
                     "[retry]\nschedule = [" +
                     schedule +
                     "]\n\n"
                     "[endpoints.pacs]\nchannel = \"rest\"\nurl = \"" +
                     s.sink_url +
                     "/api/\"\ntimeout = \"5s\"\n\n"
                     "[[notification]]\nname = \"Person Added\"\non = \"REST Person Added\"\n"
                     "endpoint = \"pacs\"\nmapping = \"person_added.xml\"\n" +
                     s.extra_toml;
  write_file(dir.file("herald.toml"), toml);
  return dir.file("herald.toml");
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::milliseconds deadline) {
  using namespace std::chrono_literals;
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    io.run_for(20ms);
    if (io.stopped()) io.restart();
  }
  return pred();
}

}  // namespace herald::test

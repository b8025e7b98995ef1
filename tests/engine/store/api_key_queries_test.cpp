// API keys: stored by name with a role and the key's hash.
#include "tests/engine/store/store_fixture.h"

namespace leadscore::store::testing {
namespace {

using domain::ErrorCode;

TEST(Roles, NamesRoundTrip) {
  for (Role role : {Role::Viewer, Role::Manager, Role::Analyst, Role::Admin})
    EXPECT_EQ(parse_role(to_string(role)), role);
  EXPECT_FALSE(parse_role("root"));
}

TEST_F(Store, ApiKeysAreCreatedListedFoundByHashAndDeleted) {
  auto admin = s().create_api_key("ops", Role::Admin, "aa11");
  ASSERT_TRUE(admin) << admin.error().message;
  EXPECT_EQ(admin->name, "ops");
  EXPECT_EQ(admin->role, Role::Admin);
  EXPECT_EQ(admin->key_hash, "aa11");
  EXPECT_FALSE(admin->created_at.empty());
  ASSERT_TRUE(s().create_api_key("crm", Role::Manager, "bb22"));

  auto keys = s().list_api_keys();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].name, "crm");  // by name
  EXPECT_EQ((*keys)[1].name, "ops");

  auto found = s().find_api_key("bb22");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "crm");
  EXPECT_EQ(found->role, Role::Manager);
  EXPECT_EQ(s().find_api_key("cc33").error().code, ErrorCode::NotFound);

  ASSERT_TRUE(s().delete_api_key("crm"));
  EXPECT_EQ(s().find_api_key("bb22").error().code, ErrorCode::NotFound);
  EXPECT_EQ(s().list_api_keys()->size(), 1u);
}

TEST_F(Store, DuplicateApiKeyNameOrKeyIsConflict) {
  ASSERT_TRUE(s().create_api_key("ops", Role::Admin, "aa11"));
  auto same_name = s().create_api_key("ops", Role::Viewer, "ff00");
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.error().code, ErrorCode::Conflict);
  EXPECT_NE(same_name.error().message.find("ops"), std::string::npos);
  auto same_key = s().create_api_key("other", Role::Viewer, "aa11");
  ASSERT_FALSE(same_key);
  EXPECT_EQ(same_key.error().code, ErrorCode::Conflict);
}

TEST_F(Store, DeletingAnUnknownApiKeyIsNotFound) {
  EXPECT_EQ(s().delete_api_key("nobody").error().code, ErrorCode::NotFound);
}

}  // namespace
}  // namespace leadscore::store::testing

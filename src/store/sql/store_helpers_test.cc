#include "store/sql/store_helpers.h"

#include <gtest/gtest.h>

namespace cairn::store::sql {
namespace {

TEST(StoreHelpersTest, PlaceholdersAndInLists) {
  EXPECT_EQ(Placeholders(1), "(?)");
  EXPECT_EQ(Placeholders(3), "(?, ?, ?)");
  EXPECT_EQ(InListCondition("m.name", 2, /*negate=*/false), "m.name IN (?, ?)");
  EXPECT_EQ(InListCondition("m.name", 1, /*negate=*/true), "m.name NOT IN (?)");
  EXPECT_EQ(InListCondition("m.name", 0, /*negate=*/false), "1 = 0");
  EXPECT_EQ(InListCondition("m.name", 0, /*negate=*/true), "1 = 1");
}

TEST(StoreHelpersTest, TrimPageCutsTheExtraRowAndGivesTheNextOffset) {
  std::vector<int> rows = {1, 2, 3, 4};
  EXPECT_EQ(TrimPage(rows, 3, 10), 13);
  EXPECT_EQ(rows, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(TrimPage(rows, 3, 10), -1);  // exactly a page: the last one
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_EQ(TrimPage(rows, 0, 0), -1);  // no limit
  EXPECT_EQ(rows.size(), 3u);
}

struct Kv {
  std::string key;
  int value;
};

TEST(StoreHelpersTest, SortByKey) {
  std::vector<Kv> items = {{"b", 1}, {"a", 2}, {"c", 3}};
  SortByKey(items);
  EXPECT_EQ(items[0].key, "a");
  EXPECT_EQ(items[1].key, "b");
  EXPECT_EQ(items[2].key, "c");
}

}  // namespace
}  // namespace cairn::store::sql

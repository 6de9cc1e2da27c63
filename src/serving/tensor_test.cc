#include "serving/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::serving {
namespace {

TEST(DataTypeTest, NamesRoundTripForEveryType) {
  const char* names[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                         "INT32", "INT64", "FP16",   "FP32",   "FP64",   "BYTES"};
  const size_t sizes[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0};
  for (size_t i = 0; i < 13; ++i) {
    auto t = DataTypeFromName(names[i]);
    ASSERT_TRUE(t.has_value()) << names[i];
    EXPECT_EQ(DataTypeName(*t), names[i]);
    EXPECT_EQ(DataTypeSize(*t), sizes[i]) << names[i];
  }
  EXPECT_FALSE(DataTypeFromName("fp32").has_value());
  EXPECT_FALSE(DataTypeFromName("FP128").has_value());
}

TEST(ShapeTest, ElementCount) {
  std::vector<int64_t> s{2, 3, 4};
  EXPECT_EQ(*ShapeElementCount(s), 24);
  EXPECT_EQ(*ShapeElementCount(std::vector<int64_t>{}), 1);
  EXPECT_EQ(*ShapeElementCount(std::vector<int64_t>{5, 0}), 0);
  auto neg = ShapeElementCount(std::vector<int64_t>{2, -1});
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(neg.error().message(), "shape [2,-1] has a negative dimension");
  auto big = ShapeElementCount(std::vector<int64_t>{1LL << 40, 1LL << 40});
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("too large"), std::string::npos);
}

TEST(HalfTest, ConvertsExactAndRoundedValues) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);  // overflow -> inf
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), 5.960464477539063e-08f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite positive half round-trips
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h);
  }
}

TEST(TensorTest, FromValuesChecksCount) {
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  auto t = Tensor::FromValues<float>("x", DataType::kFp32, {2, 3}, v);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->element_count(), 6);
  EXPECT_EQ(t->values<float>()[5], 6.0f);
  EXPECT_EQ(t->AsDouble(1), 2.0);

  auto bad = Tensor::FromValues<float>("x", DataType::kFp32, {2, 2}, v);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "tensor 'x': shape [2,2] needs 4 values, got 6");

  auto wrong = Tensor::FromValues<float>("x", DataType::kInt64, {6}, v);
  ASSERT_FALSE(wrong);
}

TEST(TensorTest, StringsAndZeros) {
  auto s = Tensor::FromStrings("s", {2}, {"a", "bc"});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->datatype(), DataType::kBytes);
  EXPECT_EQ(s->strings()[1], "bc");
  EXPECT_FALSE(Tensor::FromStrings("s", {3}, {"a"}));

  auto z = Tensor::Zeros("z", DataType::kInt16, {3, 2});
  ASSERT_TRUE(z);
  EXPECT_EQ(z->raw().size(), 12u);
  z->mutable_values<int16_t>()[4] = -7;
  EXPECT_EQ(z->AsDouble(4), -7.0);
  EXPECT_FALSE(Tensor::Zeros("z", DataType::kInt16, {-1}));
  EXPECT_FALSE(Tensor::FromRaw("r", DataType::kInt32, {1}, std::vector<std::byte>(3)));
}

}  // namespace
}  // namespace cairn::serving

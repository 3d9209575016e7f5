#include <gtest/gtest.h>

#include "backprop/data/number.hpp"

using namespace bp::data;

TEST(DataNumber, ParsesNumbersAndRejectsNonFinite) {
  double v = 0;
  EXPECT_EQ(parse_number(" 1.5 ", v), NumberParse::Number);
  EXPECT_EQ(v, 1.5);
  EXPECT_EQ(parse_number("+.5", v), NumberParse::Number);
  EXPECT_EQ(v, 0.5);
  EXPECT_EQ(parse_number("-2e3", v), NumberParse::Number);
  EXPECT_EQ(v, -2000);
  EXPECT_EQ(parse_number("1e-999", v), NumberParse::Number);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(parse_number("0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                         "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                         "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
                         "000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
                         v),
            NumberParse::Number);
  for (const char* s : {"nan", "NaN", "-inf", "Infinity", "1e999", "-1e400"})
    EXPECT_EQ(parse_number(s, v), NumberParse::NonFinite) << s;
  for (const char* s : {"", "abc", "1,5", "0x10", "+-1", "+", "1e", "--1", "1 2"})
    EXPECT_EQ(parse_number(s, v), NumberParse::Text) << s;
}

TEST(DataNumber, FitsFloat) {
  EXPECT_TRUE(fits_float(3.4e38));
  EXPECT_FALSE(fits_float(3.5e38));
  EXPECT_FALSE(fits_float(-1e39));
  EXPECT_TRUE(fits_float(-1e-300));
}

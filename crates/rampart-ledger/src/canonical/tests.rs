//! Fixed vectors for [`canonical_json`], written by hand from the RFC 8785 rules.

use super::{canonical_json, number::write_f64};

/// Parses `input` as JSON and checks that its canonical form is exactly `expected`.
#[track_caller]
fn check(input: &str, expected: &str) {
    let value: serde_json::Value = serde_json::from_str(input).unwrap();
    assert_eq!(canonical_json(&value), expected, "input: {input}");
}

#[test]
fn literals_and_whitespace() {
    check(" null ", "null");
    check("true", "true");
    check("false", "false");
    check("[ 1 ,\n\t2 , [ ] , { } ]", "[1,2,[],{}]");
}

#[test]
fn ascii_key_order() {
    check(
        r#"{"b":1,"a":2,"A":3,"_":4,"aa":5,"":6}"#,
        r#"{"":6,"A":3,"_":4,"a":2,"aa":5,"b":1}"#,
    );
}

#[test]
fn non_ascii_key_order_is_utf16() {
    // U+FB00 is 0xFB00 in UTF-16, but U+1F600 is the surrogate pair 0xD83D 0xDE00, so the emoji
    // sorts first even though its UTF-8 bytes (F0 ..) sort after U+FB00's (EF ..).
    check(
        r#"{"ﬀ":1,"😀":2,"€":3,"é":4,"z":5,"\u0080":6}"#,
        "{\"z\":5,\"\u{80}\":6,\"é\":4,\"€\":3,\"😀\":2,\"ﬀ\":1}",
    );
    // The key-sorting example of RFC 8785 §3.2.3.
    check(
        r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","</script>":"Browser Challenge"}"#,
        concat!(
            r#"{"\r":"Carriage Return","1":"One","</script>":"Browser Challenge","#,
            "\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",",
            "\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",",
            "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
        ),
    );
}

#[test]
fn string_escapes_are_minimal() {
    // Solidus is not escaped; DEL, U+2028 and non-ASCII are written raw; other controls use
    // lowercase \u00xx.
    check(
        r#""\"\\\/\b\f\n\r\t\u0000\u0001\u001f\u007f\u2028é A""#,
        concat!(
            r#""\"\\/\b\f\n\r\t\u0000\u0001\u001f"#,
            "\u{7f}\u{2028}é A\""
        ),
    );
    check(r#""\u000B\u001E""#, r#""\u000b\u001e""#);
    check(r#"{"a\nb":"\ud83d\ude00"}"#, "{\"a\\nb\":\"😀\"}");
}

#[test]
fn integers_are_plain_decimal() {
    check("0", "0");
    check("-0", "0");
    check("100", "100");
    check("-42", "-42");
    check("123456789012345678", "123456789012345678");
    check("-9223372036854775808", "-9223372036854775808");
    check("18446744073709551615", "18446744073709551615");
    // Exact, unlike strict JCS, which would round it to 9007199254740992.
    check("9007199254740993", "9007199254740993");
}

#[test]
fn floats_use_ecmascript_form() {
    check("-0.0", "0");
    check("0.0", "0");
    check("1.0", "1");
    check("1E2", "100");
    check("0.1", "0.1");
    check("-1.5", "-1.5");
    check("4.50", "4.5");
    check("2e-3", "0.002");
    check("1e-6", "0.000001");
    check("1e-7", "1e-7");
    check("0.000001234", "0.000001234");
    check("0.0000001234", "1.234e-7");
    check("1e20", "100000000000000000000");
    check("1e21", "1e+21");
    check("1.5e300", "1.5e+300");
    check("1E30", "1e+30");
    check("1e-27", "1e-27");
    check("5e-324", "5e-324");
    check("1.7976931348623157e308", "1.7976931348623157e+308");
    // Beyond u64: parsed as a double, then printed in ECMAScript form.
    check("18446744073709551616", "18446744073709552000");
    check("333333333.33333329", "333333333.3333333");
    check("1424953923781206.2", "1424953923781206.2");
    check("-0.0000033333333333333333", "-0.0000033333333333333333");
}

#[test]
fn ieee_bit_patterns_from_rfc_8785_appendix_b() {
    let vectors: [(u64, &str); 24] = [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
        (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
        (0x44b5_2d02_c7e1_4af6, "1e+23"),
        (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
        (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
        (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
        (0x444b_1ae4_d6e2_ef50, "1e+21"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        // 1424953923781206.25 lies exactly between …206.2 and …206.3: the even digit wins.
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
    ];
    for (bits, expected) in vectors {
        let mut out = String::new();
        write_f64(&mut out, f64::from_bits(bits));
        assert_eq!(out, expected, "bits {bits:#018x}");
    }
}

#[test]
fn nested_arrays_and_objects() {
    check(
        r#"{"b":[1,{"d":true,"c":null}],"a":{"z":[],"y":{"k":[[],[{}]]}}}"#,
        r#"{"a":{"y":{"k":[[],[{}]]},"z":[]},"b":[1,{"c":null,"d":true}]}"#,
    );
}

#[test]
fn rfc_8785_sample() {
    check(
        r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#,
        concat!(
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#,
            r#""string":"€$\u000f\nA'B\"\\\\\"/"}"#
        ),
    );
}

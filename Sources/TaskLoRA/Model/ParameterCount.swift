/// Parameter counts printed with thousands separators (559,364,096), as the paper reports them.
public enum ParameterCount {
    public static func format(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }
}

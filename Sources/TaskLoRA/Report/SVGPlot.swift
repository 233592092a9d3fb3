import Foundation

/// A minimal line chart as inline SVG: axes with a few ticks, one polyline per series, a legend.
/// No scripts, no external resources, so the report opens offline.
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logX = false
    public var width = 560.0, height = 300.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logX = logX
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public func render() -> String {
        let all = series.flatMap(\.points).filter { $0.y.isFinite }
        guard !all.isEmpty else { return "<p><em>\(escape(title)): no data</em></p>" }
        let left = 64.0, right = 150.0, top = 28.0, bottom = 44.0
        let plotW = width - left - right, plotH = height - top - bottom
        func tx(_ x: Double) -> Double { logX ? log2(max(x, 1e-9)) : x }
        var (x0, x1) = (all.map { tx($0.x) }.min()!, all.map { tx($0.x) }.max()!)
        var (y0, y1) = (all.map(\.y).min()!, all.map(\.y).max()!)
        if x1 == x0 { x0 -= 1; x1 += 1 }
        if y1 == y0 { y0 -= 1; y1 += 1 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ x: Double) -> Double { left + (tx(x) - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">"
        s += "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>"
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#999\"/>"
        for i in 0...4 {
            let y = y0 + (y1 - y0) * Double(i) / 4
            s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(format(y))</text>"
        }
        // Integer-valued axes (steps) get integer ticks.
        let integral = !logX && all.allSatisfy { $0.x == $0.x.rounded() }
        let xTicks: [Double] = logX ? Array(Set(all.map(\.x))).sorted()
            : (0...4).map { i in let v = x0 + (x1 - x0) * Double(i) / 4; return integral ? v.rounded() : v }
        for x in xTicks {
            let xv = logX ? x : x
            s += "<text x=\"\(logX ? px(xv) : left + (x - x0) / (x1 - x0) * plotW)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\">\(format(xv))</text>"
        }
        s += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        s += "<text transform=\"translate(14,\(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        for (i, series) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = series.points.filter { $0.y.isFinite }
            let path = pts.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(path)\"/>"
            if pts.count <= 30 {
                for p in pts { s += "<circle cx=\"\(px(p.x))\" cy=\"\(py(p.y))\" r=\"2.5\" fill=\"\(color)\"/>" }
            }
            let ly = top + 14 + Double(i) * 16
            s += "<line x1=\"\(left + plotW + 10)\" x2=\"\(left + plotW + 28)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"/>"
            s += "<text x=\"\(left + plotW + 32)\" y=\"\(ly)\">\(escape(series.name))</text>"
        }
        return s + "</svg>"
    }

    func format(_ v: Double) -> String {
        let a = abs(v)
        if a != 0 && (a < 0.01 || a >= 100_000) { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }
}

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

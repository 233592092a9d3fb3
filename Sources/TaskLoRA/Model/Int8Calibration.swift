/// The calibration pass of int8 inference: the model, loaded with `int8Calibration: true`, embeds a
/// few texts once, unsmoothed, while every frozen projection records the per-channel maxima of its
/// input; then each re-quantizes its weights with SmoothQuant factors and frees its source copy
/// (`PackedLinear.finishCalibration`, `Int8Smoothing`). The maxima that matter are the systematic
/// outlier channels of the model, which any text shows, so a short built-in multilingual set is the
/// default; `--calibration FILE` takes the user's own texts (one per line).
public enum Int8Calibration {
    /// Written for this purpose (no dataset rows): short and long, several scripts, a query, code,
    /// numbers and punctuation, so that every layer sees typical and extreme tokens.
    public static let defaultTexts: [String] = [
        "The quick brown fox jumps over the lazy dog.",
        "How many people live in the largest city of Australia?",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "A man is playing a guitar on a crowded street corner while people walk past.",
        "The committee postponed its decision until the budget figures for 2024 were final.",
        "Der Zug nach Hamburg hat wegen eines Stellwerksdefekts zwanzig Minuten Verspätung.",
        "Wie funktioniert ein Wärmetauscher in einer Heizungsanlage?",
        "La bibliothèque municipale ouvre ses portes à neuf heures le samedi matin.",
        "Quelle est la différence entre un virus et une bactérie ?",
        "El mercado central vende frutas, verduras y pescado fresco todos los días.",
        "¿Cuál es la capital de Perú y cuántos habitantes tiene?",
        "Il cuoco ha preparato una zuppa di verdure con basilico e parmigiano.",
        "O rio Amazonas atravessa vários países da América do Sul.",
        "Москва является крупнейшим городом России по численности населения.",
        "Какая погода будет завтра в Санкт-Петербурге?",
        "东京是日本的首都，也是世界上人口最多的城市之一。",
        "这本书讲述了一个年轻人在城市里寻找工作的故事。",
        "明日の会議は午後三時から第二会議室で行われます。",
        "서울의 지하철은 깨끗하고 편리하며 요금이 저렴하다.",
        "القاهرة هي أكبر مدينة في العالم العربي وتقع على نهر النيل.",
        "Hà Nội là thủ đô của Việt Nam và có nhiều hồ nước đẹp.",
        "İstanbul, Avrupa ile Asya arasında köprü görevi gören tarihi bir şehirdir.",
        "मुंबई भारत की आर्थिक राजधानी के रूप में जानी जाती है।",
        "Ο Παρθενώνας βρίσκεται στην Ακρόπολη της Αθήνας.",
        "Kraków jest jednym z najstarszych miast w Polsce.",
        "Amsterdam heeft meer fietsen dan inwoners.",
        "query: symptoms of vitamin D deficiency in adults",
        "passage: Vitamin D deficiency can cause fatigue, bone pain and muscle weakness; it is diagnosed with a blood test.",
        "def mean(xs): return sum(xs) / len(xs)  # average of a list",
        "Error 404: the requested URL /api/v2/items?id=17 was not found on this server.",
        "3.14159 × 2 = 6.28318; 1,000,000 km² ≈ 386,102 sq mi.",
        "Yes.",
        "OK, thanks!!! 😀",
        "In 1969, Apollo 11 landed on the Moon, and Neil Armstrong became the first person to walk on its surface, "
            + "describing the moment as one small step for a man and one giant leap for mankind.",
    ]

    /// Embeds `texts` (the built-in set when nil) with `embedder`'s base model and finishes every
    /// int8 projection still calibrating. Does nothing for a model that is not calibrating.
    public static func run(_ embedder: SentenceEmbedder, texts: [String]? = nil, maxLength: Int = 128) throws {
        let layers = embedder.encoder.weights.layers.compactMap(\.packed).flatMap(\.all)
        guard layers.contains(where: \.isCalibrating) else { return }
        let texts = texts ?? defaultTexts
        guard !texts.isEmpty else { throw TaskLoRAError("int8 calibration: no calibration texts") }
        _ = try embedder.embed(texts, options: .init(batchSize: 32, maxLength: maxLength))
        for layer in layers { try layer.finishCalibration() }
    }
}

using System.Text;

namespace Sovereign.Bench.Workloads;

/// <summary>
/// Makes the benchmark's prompts: plain story-like English from a fixed word list and a seeded generator, so the same
/// seed and length give the same text on every machine and every run, and different seeds give prompts that share no
/// prefix (servers that cache prompts gain nothing across streams). Stateless; thread-safe.
/// </summary>
public static class WorkloadGenerator
{
    // Words the synthetic vocabulary holds whole and stories260K was trained on, so prompts tokenise compactly on both.
    private static readonly string[] Words =
    [
        "the", "a", "and", "to", "of", "in", "is", "was", "he", "she", "it", "you", "that", "for", "on", "with", "as", "his",
        "her", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "but", "not", "what", "all", "were", "we",
        "when", "your", "can", "said", "there", "an", "each", "which", "do", "how", "their", "if", "will", "up", "other",
        "about", "out", "many", "then", "them", "so", "some", "would", "like", "him", "into", "time", "has", "look", "two",
        "more", "go", "see", "no", "way", "could", "my", "than", "first", "been", "who", "its", "now", "long", "day", "did",
        "get", "come", "made", "may", "upon", "little", "girl", "boy", "named", "happy", "play", "friend", "mom", "dog",
        "cat", "big", "sun", "tree", "ball", "park", "house", "garden", "bird", "flower", "toy", "red", "blue", "small",
        "very", "went", "saw", "found", "loved", "wanted", "ran", "jumped", "smiled", "sky", "water", "box", "car", "book",
    ];

    private static readonly string[] Names = ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Sam", "Anna"];

    /// <summary>
    /// <paramref name="words"/> words of text for <paramref name="seed"/>: sentences of 6 to 13 words, each starting
    /// with a capital and ending with a full stop. Same arguments, same string.
    /// </summary>
    public static string Text(ulong seed, int words)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(words);
        var rng = new SplitMix64(seed);
        var text = new StringBuilder(words * 6);
        var left = 0;
        for (var i = 0; i < words; i++)
        {
            var startsSentence = left == 0;
            if (startsSentence) left = 6 + (int)rng.Below(8);
            // One word in twelve is a name, so texts differ early and read like the stories the small model knows.
            var word = rng.Below(12) == 0 ? Names[rng.Below((ulong)Names.Length)] : Words[rng.Below((ulong)Words.Length)];
            if (text.Length > 0) text.Append(' ');
            if (startsSentence) text.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
            else text.Append(word);
            left--;
            if (left == 0 || i == words - 1) text.Append('.');
        }
        return text.ToString();
    }

    /// <summary>
    /// The text for <paramref name="seed"/> with the most words whose token count (by <paramref name="countTokens"/>)
    /// is at most <paramref name="targetTokens"/>; at least one word. The counter must grow with the number of words,
    /// as every tokenizer's does for this text.
    /// </summary>
    public static string ForTokens(ulong seed, int targetTokens, Func<string, int> countTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(targetTokens, 1);
        ArgumentNullException.ThrowIfNull(countTokens);
        // Grow an upper bound, then binary-search the word count: O(log n) tokenizer calls.
        int low = 1, high = 1;
        while (countTokens(Text(seed, high)) <= targetTokens)
        {
            low = high;
            high *= 2;
            if (high > targetTokens * 4) break; // every word is at least one token; stay bounded even for a counter that is not
        }
        while (high - low > 1)
        {
            var mid = low + (high - low) / 2;
            if (countTokens(Text(seed, mid)) <= targetTokens) low = mid;
            else high = mid;
        }
        return Text(seed, low);
    }

    /// <summary>A deterministic seed for stream <paramref name="index"/> of a workload, apart from every other workload's.</summary>
    public static ulong SeedFor(string workload, int index)
    {
        ArgumentNullException.ThrowIfNull(workload);
        // FNV-1a over the name: stable across processes (string.GetHashCode is randomised per process).
        var hash = 14695981039346656037UL;
        foreach (var c in workload)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash ^ ((ulong)index * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>SplitMix64: small, fast, and the same on every platform.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, <paramref name="n"/>) (the tiny modulo bias does not matter for prompts).</summary>
        public ulong Below(ulong n) => Next() % n;
    }
}

using System.Diagnostics;
using Sovereign.Models.Gguf;

namespace Sovereign.Models.Tests.Gguf;

/// <summary>
/// Random damage to valid files: the reader must either accept the file or refuse it with a
/// <see cref="GgufFormatException"/>; any other exception, a crash or a hang is a bug.
/// </summary>
public sealed class GgufMutationTests
{
    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256, 65535, 0x7fffffff, 0x80000000, 0xffffffff,
        0x100000000, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue, ulong.MaxValue - 31,
    ];

    [Fact(Timeout = 60_000)]
    public async Task Every_mutation_of_a_small_file_parses_or_is_refused_cleanly()
    {
        var files = new[]
        {
            GgufWriterTests.SmallFileWithEveryValueType(),
            SyntheticBytes(),
        };
        var outcomes = await Task.Run(() => Mutate(files, seed: 20250101, mutations: 2000, budget: TimeSpan.FromSeconds(30)));

        Assert.Equal(2000, outcomes.Parsed + outcomes.Refused);
        // Most damage in the header must be noticed; a loop where everything parses would test nothing.
        Assert.True(outcomes.Refused > 1000, $"only {outcomes.Refused} of 2000 mutations were refused");
    }

    private static byte[] SyntheticBytes()
    {
        using var stream = new MemoryStream();
        SyntheticLlamaModel.Write(stream, new SyntheticLlamaOptions
        {
            VocabSize = 280, EmbeddingLength = 32, HeadCount = 2, FeedForwardLength = 32, BlockCount = 1, TensorType = GgmlType.Q8_0,
        });
        return stream.ToArray();
    }

    private static (int Parsed, int Refused) Mutate(byte[][] files, int seed, int mutations, TimeSpan budget)
    {
        var rng = new Random(seed);
        var headers = files.Select(f => (int)RawGguf.Read(f).DataOffset).ToArray();
        var clock = Stopwatch.StartNew();
        int parsed = 0, refused = 0;
        for (var i = 0; i < mutations; i++)
        {
            Assert.True(clock.Elapsed < budget, $"mutation {i}: the loop ran past its time budget");
            var which = rng.Next(files.Length);
            var bytes = (byte[])files[which].Clone();
            var header = headers[which];
            var edits = rng.Next(1, 5);
            var description = new List<string>();
            for (var e = 0; e < edits; e++)
            {
                if (bytes.Length == 0) break;
                // Nine in ten edits hit the header, where the structure is.
                var at = rng.Next(10) == 0 ? rng.Next(bytes.Length) : rng.Next(Math.Min(header, bytes.Length));
                switch (rng.Next(5))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << rng.Next(8));
                        description.Add($"flip bit at {at}");
                        break;
                    case 1:
                        bytes[at] = (byte)rng.Next(256);
                        description.Add($"random byte at {at}");
                        break;
                    case 2:
                        var value = Interesting[rng.Next(Interesting.Length)];
                        var width = rng.Next(2) == 0 ? 4 : 8;
                        for (var b = 0; b < width && at + b < bytes.Length; b++) bytes[at + b] = (byte)(value >> (8 * b));
                        description.Add($"{width}-byte {value} at {at}");
                        break;
                    case 3:
                        var len = rng.Next(1, 16);
                        if (at + len < bytes.Length) Array.Copy(bytes, at + len, bytes, at, bytes.Length - at - len);
                        description.Add($"shift left {len} at {at}");
                        break;
                    default:
                        bytes = bytes[..at];
                        description.Add($"truncate at {at}");
                        break;
                }
            }

            var watch = Stopwatch.StartNew();
            try
            {
                RawGguf.Read(bytes);
                parsed++;
            }
            catch (GgufFormatException e)
            {
                Assert.StartsWith("Invalid GGUF file 'test.gguf': ", e.Message, StringComparison.Ordinal);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"Mutation {i} ({string.Join(", ", description)}) threw {e.GetType().Name}: {e.Message}");
            }
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"Mutation {i} ({string.Join(", ", description)}) took {watch.Elapsed}");
        }
        return (parsed, refused);
    }
}

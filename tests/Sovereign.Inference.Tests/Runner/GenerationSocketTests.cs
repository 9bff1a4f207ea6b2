using System.Net.Sockets;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;
using Sovereign.Inference.Protocol;
using Sovereign.Inference.Runner;

namespace Sovereign.Inference.Tests.Runner;

/// <summary>
/// The runner's generation socket, below the engine: framing, the loop-side writer that must never block, and how
/// refusals cross. Real Unix sockets; the end-to-end behaviour (cancel, disconnect, a runner that dies, 429) is in the
/// server's EngineLimitsTests.
/// </summary>
public sealed class GenerationSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sov-gen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(Socket Runner, Socket Server)> ConnectedPairAsync()
    {
        var path = Path.Combine(_dir, "g.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await server.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var runner = await listener.AcceptAsync();
        File.Delete(path);
        return (runner, server);
    }

    /// <summary>Reads as the server does, blocking, on a thread of its own; a read that waits a minute fails.</summary>
    private static Task<List<GenerateEvent>> ReadAllAsync(Socket socket, int count) => Task.Run(() =>
    {
        socket.ReceiveTimeout = 60_000;
        var reader = new FrameReader(socket);
        var events = new List<GenerateEvent>();
        while (events.Count < count)
            events.Add(reader.Read(GenerateEvent.Parser) ?? throw new EndOfStreamException($"Closed after {events.Count} events."));
        return events;
    });

    [Fact]
    public async Task Events_the_server_is_not_reading_wait_in_the_writer_and_then_arrive_whole_and_in_order()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var writer = new SocketEventWriter(runner);
            // Written before Open (the loop can start a request before the connection handler opens its output).
            Assert.True(writer.TryWrite(new GenerationEvent.Started(7)));
            writer.Open();

            // About 3 MB while nobody reads: far more than a Unix socket buffers, so most of it must wait in the writer,
            // and no TryWrite may block the loop's thread meanwhile.
            const int Deltas = 20_000;
            var piece = new string('x', 150);
            for (var i = 0; i < Deltas; i++)
                Assert.True(writer.TryWrite(new GenerationEvent.TextDelta($"{i}:{piece}", 1)));
            Assert.True(writer.TryWrite(new GenerationEvent.Finished(FinishReason.Length, new GenerationUsage(7, Deltas, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(4)))));
            Assert.True(writer.TryComplete());
            Assert.False(writer.Flushed.IsCompleted);

            var events = await ReadAllAsync(server, Deltas + 3);
            await writer.Flushed.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(GenerateEvent.KindOneofCase.Accepted, events[0].KindCase);
            Assert.Equal(7, events[1].Started.PromptTokens);
            for (var i = 0; i < Deltas; i++)
                Assert.Equal($"{i}:{piece}", events[i + 2].Delta.Text);
            Assert.Equal("length", events[^1].Finished.Reason);
            Assert.Equal(Deltas, events[^1].Finished.CompletionTokens);
            Assert.False(writer.TryWrite(new GenerationEvent.TextDelta("late", 1)));
        }
    }

    [Fact]
    public async Task Text_that_follows_a_send_within_the_hold_time_goes_out_with_the_next_event()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            // A long hold, so that no pause of this test's thread can let the text go early.
            var writer = new SocketEventWriter(runner, holdTime: TimeSpan.FromMinutes(1));
            writer.Open();
            Assert.Equal(GenerateEvent.KindOneofCase.Accepted, (await ReadAllAsync(server, 1))[0].KindCase);

            Assert.True(writer.TryWrite(new GenerationEvent.TextDelta("a", 1)));
            Assert.True(writer.TryWrite(new GenerationEvent.TextDelta("b", 1)));
            await Task.Delay(100);
            Assert.Equal(0, server.Available);

            // Any other event sends at once, with what was held before it.
            Assert.True(writer.TryWrite(new GenerationEvent.Finished(FinishReason.Length, new GenerationUsage(1, 2, TimeSpan.Zero, TimeSpan.Zero))));
            var events = await ReadAllAsync(server, 3);
            Assert.Equal(["a", "b"], events.Take(2).Select(e => e.Delta.Text));
            Assert.Equal("length", events[2].Finished.Reason);
        }
    }

    [Fact]
    public async Task Held_text_goes_out_when_the_loop_flushes_it_or_the_request_completes_without_a_last_event()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var writer = new SocketEventWriter(runner, holdTime: TimeSpan.FromMinutes(1));
            writer.Open();
            writer.TryWrite(new GenerationEvent.TextDelta("a", 1));
            writer.FlushHeld();
            Assert.Equal("a", (await ReadAllAsync(server, 2))[1].Delta.Text);

            // Cancelled: the loop completes the output with no Finished event; the held text still goes, then Flushed.
            writer.TryWrite(new GenerationEvent.TextDelta("b", 1));
            Assert.True(writer.TryComplete());
            await writer.Flushed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("b", (await ReadAllAsync(server, 1))[0].Delta.Text);
        }
    }

    [Fact]
    public async Task With_no_hold_time_every_piece_of_text_goes_out_at_once()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var writer = new SocketEventWriter(runner, holdTime: TimeSpan.Zero);
            writer.Open();
            writer.TryWrite(new GenerationEvent.TextDelta("a", 1));
            writer.TryWrite(new GenerationEvent.TextDelta("b", 1));
            Assert.Equal(["a", "b"], (await ReadAllAsync(server, 3)).Skip(1).Select(e => e.Delta.Text));
        }
    }

    [Fact]
    public async Task Nothing_is_sent_before_the_request_is_accepted()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var writer = new SocketEventWriter(runner);
            writer.TryWrite(new GenerationEvent.Started(3));
            await Task.Delay(100);
            Assert.Equal(0, server.Available);

            writer.Open();
            var events = await ReadAllAsync(server, 2);
            Assert.Equal([GenerateEvent.KindOneofCase.Accepted, GenerateEvent.KindOneofCase.Started], events.Select(e => e.KindCase));
        }
    }

    [Fact]
    public async Task When_the_server_has_gone_the_writer_reports_it_once_refuses_further_events_and_counts_as_flushed()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        {
            var broken = 0;
            var writer = new SocketEventWriter(runner, () => Interlocked.Increment(ref broken));
            writer.Open();
            server.Dispose();

            // The first send after the peer closed may still succeed; the ones after it fail with a broken pipe.
            var refused = false;
            for (var i = 0; i < 100 && !refused; i++)
            {
                refused = !writer.TryWrite(new GenerationEvent.TextDelta("x", 1));
                if (!refused) await Task.Delay(10);
            }
            Assert.True(refused);
            Assert.True(writer.Flushed.IsCompleted);
            // The request is cancelled at once, and only once, rather than when the watch next polls.
            Assert.Equal(1, broken);
            Assert.False(writer.TryWrite(new GenerationEvent.TextDelta("y", 1)));
            Assert.Equal(1, broken);
        }
    }

    [Fact]
    public async Task Frames_split_over_many_reads_or_joined_in_one_parse_the_same()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var first = Frames.Of(new GenerateEvent { Delta = new Delta { Text = "héllo", Tokens = 2 } });
            var second = Frames.Of(new GenerateEvent { Started = new Started { PromptTokens = 9 } });
            var third = Frames.Of(new GenerateEvent { Error = new Error { Code = "c", Message = "m" } });

            // One byte at a time, then two frames in one write.
            foreach (var b in first)
            {
                await runner.SendAsync(new[] { b }, SocketFlags.None);
                await Task.Delay(1);
            }
            await runner.SendAsync(second.Concat(third).ToArray(), SocketFlags.None);
            runner.Shutdown(SocketShutdown.Send);

            var reader = new FrameReader(server);
            var events = new List<GenerateEvent>();
            while (reader.Read(GenerateEvent.Parser) is { } e)
                events.Add(e);

            Assert.Equal(3, events.Count);
            Assert.Equal("héllo", events[0].Delta.Text);
            Assert.Equal(9, events[1].Started.PromptTokens);
            Assert.Equal("m", events[2].Error.Message);
        }
    }

    [Fact]
    public async Task A_connection_that_ends_inside_a_frame_or_announces_an_oversized_one_is_an_error_not_an_end()
    {
        var (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            var frame = Frames.Of(new GenerateEvent { Delta = new Delta { Text = "cut short", Tokens = 1 } });
            await runner.SendAsync(frame.AsMemory(0, frame.Length - 3), SocketFlags.None);
            runner.Shutdown(SocketShutdown.Send);
            Assert.Throws<EndOfStreamException>(() => new FrameReader(server).Read(GenerateEvent.Parser));
        }

        (runner, server) = await ConnectedPairAsync();
        using (runner)
        using (server)
        {
            await runner.SendAsync(BitConverter.GetBytes(Frames.MaxLength + 1), SocketFlags.None);
            Assert.Throws<InvalidDataException>(() => new FrameReader(server).Read(GenerateEvent.Parser));
        }
    }

    [Fact]
    public async Task The_watch_reports_a_connection_the_server_closed_and_lets_go_of_it_once_its_request_is_done()
    {
        using var watch = new ClosedConnectionWatch();
        var (runner, server) = await ConnectedPairAsync();
        var (stillOpen, stillOpenServer) = await ConnectedPairAsync();
        using var _ = stillOpenServer;
        var done = new TaskCompletionSource();
        var closed = new TaskCompletionSource();
        var wronglyClosed = false;
        watch.Watch(runner, done.Task, () => closed.TrySetResult());
        watch.Watch(stillOpen, new TaskCompletionSource().Task, () => wronglyClosed = true);

        server.Dispose();
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Not disposed yet: the engine loop may still write to it until the cancelled request ends.
        Assert.False(IsDisposed(runner));

        done.SetResult();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!IsDisposed(runner) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(IsDisposed(runner));
        Assert.False(wronglyClosed);
        Assert.False(IsDisposed(stillOpen));
    }

    private static bool IsDisposed(Socket socket)
    {
        try
        {
            _ = socket.Available;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    [Fact]
    public void A_refusal_carries_the_engines_kind_message_param_code_and_retry_after()
    {
        var error = new SovereignException(ErrorKind.RateLimited, "The model is busy.", "model", "queue_full") { RetryAfter = TimeSpan.FromMilliseconds(1500) };

        var back = RunnerErrors.FromRefusal(RunnerErrors.ToRefusal(error));

        Assert.Equal(ErrorKind.RateLimited, back.Kind);
        Assert.Equal("The model is busy.", back.Message);
        Assert.Equal("model", back.Param);
        Assert.Equal("queue_full", back.Code);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), back.RetryAfter);

        var bare = RunnerErrors.FromRefusal(RunnerErrors.ToRefusal(SovereignException.Invalid("Bad.")));
        Assert.Null(bare.Code);
        Assert.Null(bare.RetryAfter);
    }
}

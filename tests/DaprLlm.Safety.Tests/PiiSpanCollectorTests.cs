using DaprLlm.Safety.Rules;

namespace DaprLlm.Safety.Tests;

public sealed class PiiSpanCollectorTests
{
    [Fact]
    public void Refuses_exactly_the_spans_that_overlap_an_accepted_one_whatever_the_order_they_come_in()
    {
        var random = new Random(20_260_312);
        for (var round = 0; round < 200; round++)
        {
            var text = new string('x', 120);
            var collector = new PiiSpanCollector(text);
            var accepted = new List<TextSpan>();
            for (var n = 0; n < 60; n++)
            {
                var start = random.Next(0, text.Length);
                var span = new TextSpan(start, Math.Min(text.Length, start + random.Next(0, 12)));
                var expected = span.Length > 0 && !accepted.Any(a => a.Overlaps(span));
                if (expected)
                {
                    accepted.Add(span);
                }

                Assert.Equal(expected, collector.TryAdd(PiiEntityTypes.Person, span.Start, span.End));
            }

            Assert.Equal(accepted.OrderBy(s => s.Start), collector.ToOriginal(NormalizedText.Identity(text)).Select(e => e.Span));
        }
    }

    // Every add scanned all accepted spans: 300,000 entities (a text of that many short addresses) took minutes.
    [Fact(Timeout = 30_000)]
    public async Task Collects_hundreds_of_thousands_of_spans_in_any_order_without_a_scan_per_add()
    {
        const int count = 300_000;
        var text = new string('x', count * 7);
        var collector = new PiiSpanCollector(text);

        await Task.Run(
            () =>
            {
                for (var i = count - 1; i >= 0; i -= 2)
                {
                    Assert.True(collector.TryAdd(PiiEntityTypes.EmailAddress, i * 7, (i * 7) + 6));
                }

                for (var i = 0; i < count; i++)
                {
                    // Odd slots were taken above; the even ones are free, and a span over two slots overlaps one.
                    Assert.Equal(i % 2 == 0, collector.TryAdd(PiiEntityTypes.EmailAddress, i * 7, (i * 7) + 6));
                    Assert.False(collector.TryAdd(PiiEntityTypes.IpAddress, (i * 7) + 3, (i * 7) + 10));
                }
            },
            TestContext.Current.CancellationToken);

        Assert.Equal(count, collector.ToOriginal(NormalizedText.Identity(text)).Count);
    }
}

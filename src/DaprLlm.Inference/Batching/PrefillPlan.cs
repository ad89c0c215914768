namespace DaprLlm.Inference.Batching;

/// <summary>
/// How the prompts admitted together are split into prefill calls. One call pads every prompt to the longest, and a
/// padded position costs as much as a real one (on CPU a batched prefill is bound by the weight MatMuls, about one
/// batched decode row per prompt token), while each extra call costs a fixed overhead of a few positions' worth. So
/// prompts are sorted by length and cut into consecutive groups that minimise padded positions plus calls; shorter
/// groups go first, so their first tokens are not held behind the longest prompt. A row's output does not depend on
/// its padding or group.
/// </summary>
public static class PrefillPlan
{
    /// <summary>What one extra prefill call costs, in prompt positions (about one 1-row step over a batched prompt token).</summary>
    public const int CallCostPositions = 8;

    /// <summary>The indices of <paramref name="lengths"/> in groups, shortest prompts first.</summary>
    public static List<List<int>> Groups(IReadOnlyList<int> lengths, int callCost = CallCostPositions)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToArray();
        var n = order.Length;
        // best[j]: least cost of the first j sorted prompts; cut[j]: where the last group of that plan starts.
        var best = new long[n + 1];
        var cut = new int[n + 1];
        for (var j = 1; j <= n; j++)
        {
            best[j] = long.MaxValue;
            for (var i = 0; i < j; i++)
            {
                // Sorted, so the group's longest prompt is its last.
                var cost = best[i] + callCost + (long)(j - i) * lengths[order[j - 1]];
                if (cost < best[j])
                {
                    (best[j], cut[j]) = (cost, i);
                }
            }
        }

        var groups = new List<List<int>>();
        for (var j = n; j > 0; j = cut[j])
        {
            groups.Add([.. order[cut[j]..j]]);
        }

        groups.Reverse();
        return groups;
    }
}

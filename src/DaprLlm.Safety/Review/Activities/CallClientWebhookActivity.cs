using Dapr.Client;
using Dapr.Workflow;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review.Activities;

/// <summary>Sends the decision's public view to the client's webhook through the configured Dapr output binding.</summary>
public sealed class CallClientWebhookActivity(ReviewStore store, DaprClient dapr, IOptions<ReviewOptions> options) : WorkflowActivity<string, bool>
{
    public override async Task<bool> RunAsync(WorkflowActivityContext context, string reviewId)
    {
        if (string.IsNullOrEmpty(options.Value.WebhookBinding))
        {
            return false;
        }

        var item = await store.GetAsync(reviewId, CancellationToken.None)
            ?? throw new InvalidOperationException($"review '{reviewId}' does not exist");
        await dapr.InvokeBindingAsync(options.Value.WebhookBinding, "post", item.ToWebhookBody());
        return true;
    }
}

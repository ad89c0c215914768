using DaprLlm.Safety.Review;
using DaprLlm.Safety.Review.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Safety.ReviewUi.Components;

/// <summary>
/// Base of the interactive review pages: the signed-in reviewer, reloads when the queue changes anywhere, and
/// shows refusals and outages (sidecar or state store not answering) as a message instead of ending the session.
/// </summary>
public abstract partial class ReviewerPage : ComponentBase, IDisposable
{
    /// <summary>What a reviewer sees when the store or sidecar failed; the action may or may not have been applied.</summary>
    public const string UnavailableMessage = "The review store did not answer, so this could not be completed. Reload the page to see the item's current state, then try again.";

    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    protected ReviewQueueNotifier Notifier { get; set; } = default!;

    [Inject]
    protected TimeProvider Time { get; set; } = default!;

    [Inject]
    private ILogger<ReviewerPage> Logger { get; set; } = default!;

    [Inject]
    private ReviewerDirectory ReviewerAccounts { get; set; } = default!;

    private System.Security.Claims.ClaimsPrincipal _principal = default!;

    /// <summary>The reviewer as the directory knows them, refreshed before each load and action (tenants can change mid-session).</summary>
    protected Reviewer Me { get; private set; } = default!;

    protected string? Message { get; set; }

    protected bool MessageIsError { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _principal = (await AuthenticationState).User;
        Me = Reviewer.FromPrincipal(_principal);
        if (Live)
        {
            Notifier.Changed += OnChanged;
        }

        await TryAsync(LoadAsync);
    }

    protected abstract Task LoadAsync();

    /// <summary>Whether the page reloads when the queue changes (not pages with edits in progress).</summary>
    protected virtual bool Live => true;

    /// <summary>Runs a review action; a refusal becomes the page's message.</summary>
    protected async Task<bool> TryAsync(Func<Task> action)
    {
        try
        {
            Me = await ReviewerAccounts.CurrentAsync(_principal, CancellationToken.None);
            await action();
            if (Message == UnavailableMessage)
            {
                // The store answers again: the outage notice no longer applies.
                Message = null;
            }

            return true;
        }
        catch (ReviewRefusedException e)
        {
            Message = e.Message;
            MessageIsError = true;
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An unhandled exception would end the reviewer's circuit (and unsaved labels and notes with it).
            LogFailed(Logger, e, GetType().Name);
            Message = UnavailableMessage;
            MessageIsError = true;
            return false;
        }
    }

    private void OnChanged() => _ = InvokeAsync(async () =>
    {
        await TryAsync(LoadAsync);
        StateHasChanged();
    });

    [LoggerMessage(LogLevel.Error, "A review page action failed on {Page}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string page);

    public void Dispose()
    {
        Notifier.Changed -= OnChanged;
        GC.SuppressFinalize(this);
    }
}

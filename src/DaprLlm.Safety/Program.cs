using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Review;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModeration();
builder.AddReview();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapModerationApi();
app.MapReviewApi();
app.Run();

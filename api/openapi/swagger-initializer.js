// Swagger UI on leadscore's own OpenAPI document. Everything it loads comes from leadscore.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    displayRequestDuration: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    // No validator badge: it would send the document to an outside service.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};

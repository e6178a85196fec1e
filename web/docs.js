// Renders /openapi.json with the embedded Swagger UI (no inline script: the page's CSP forbids it).
"use strict";

window.addEventListener("DOMContentLoaded", function () {
    if (typeof window.SwaggerUIBundle !== "function") {
        document.getElementById("swagger-ui").textContent =
            "Swagger UI did not load (/vendor/swagger-ui-bundle.js); the document is at /openapi.json.";
        return;
    }
    window.ui = window.SwaggerUIBundle({
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        validatorUrl: null,          // never call validator.swagger.io (and the CSP would block it)
        docExpansion: "list",
        defaultModelsExpandDepth: 0,
        displayOperationId: true,
        tryItOutEnabled: false,
    });
});
